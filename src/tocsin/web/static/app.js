// Progressive enhancement for Tocsin's pages. Everything works without this file; it adds live refresh over
// server-sent events, keyboard shortcuts on the incident page, "select all" and "copy link".
// Fragments come from the server already escaped, so they are inserted as they are.
"use strict";

(function () {
  const body = document.body;
  const live = body.dataset.live;

  async function fetchPartial(name, extra) {
    const url = new URL(window.location.href);
    url.searchParams.delete("notice");
    url.searchParams.delete("error");
    url.searchParams.set("partial", name);
    for (const [k, v] of Object.entries(extra || {})) url.searchParams.set(k, v);
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error("refresh failed: " + response.status);
    return response.text();
  }

  function keepChecked(tbody, html) {
    const checked = new Set([...tbody.querySelectorAll("input[name=incident]:checked")].map((c) => c.value));
    tbody.innerHTML = html;
    for (const box of tbody.querySelectorAll("input[name=incident]")) box.checked = checked.has(box.value);
  }

  let busy = false;
  let again = false;
  async function refresh(changed) {
    if (busy) { again = true; return; }
    busy = true;
    try {
      if (live === "incidents") {
        const tbody = document.getElementById("incident-rows");
        if (tbody) keepChecked(tbody, await fetchPartial("rows"));
        else window.location.reload();  // the empty state was showing: the first incident needs the whole page
      } else if (live === "incident") {
        const mine = Number(body.dataset.incident);
        if (changed && !changed.includes(mine)) return;
        const list = document.getElementById("timeline");
        const last = list.querySelector("li[data-entry]:last-of-type");
        const html = await fetchPartial("timeline", { after: last ? last.dataset.entry : "0" });
        list.insertAdjacentHTML("beforeend", html);
        document.getElementById("incident-header").innerHTML = await fetchPartial("header");
        syncButtons();
      }
    } catch (err) {
      console.warn(err);
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }

  function syncButtons() {
    const badge = document.querySelector("#incident-header .badge[class*=status-]");
    if (!badge) return;
    const status = [...badge.classList].find((c) => c.startsWith("status-")).slice(7);
    const set = (action, enabled) => {
      const button = document.querySelector(`form[data-action=${action}] button`);
      if (button) button.disabled = !enabled;
    };
    set("acknowledge", status === "triggered");
    set("resolve", status !== "resolved");
    set("escalate", status !== "resolved");
  }

  if (live && "EventSource" in window) {
    const source = new EventSource("/live");
    source.addEventListener("change", (event) => {
      let changed = null;
      try { changed = JSON.parse(event.data).incidents; } catch (_) { /* refresh everything */ }
      refresh(changed);
    });
    source.addEventListener("open", () => { body.dataset.liveConnected = "yes"; });
  }

  // Keyboard shortcuts on the incident page: a = acknowledge, r = resolve (not while typing).
  if (live === "incident") {
    document.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target;
      if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
      const action = { a: "acknowledge", r: "resolve" }[event.key];
      if (!action) return;
      const button = document.querySelector(`form[data-action=${action}] button`);
      if (button && !button.disabled) { event.preventDefault(); button.click(); }
    });
  }

  for (const all of document.querySelectorAll("[data-select-all]")) {
    all.addEventListener("change", () => {
      for (const box of document.querySelectorAll("input[name=incident]:not(:disabled)")) box.checked = all.checked;
    });
  }

  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        button.textContent = "Copied";
      } catch (_) {
        button.textContent = "Select the link to copy it";
      }
    });
  }
})();
