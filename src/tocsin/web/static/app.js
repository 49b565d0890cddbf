// Progressive enhancement for Tocsin's pages. Everything works without this file; it adds live refresh over
// server-sent events, browser notifications of one's pages, pages by Web Push on this device, keyboard shortcuts on the incident page, "select all"
// and "copy link".
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

  // Browser notifications of the signed-in person's pages, while a console page is open. The browser asks for
  // permission only after a click. The pages already seen are kept for the tab (sessionStorage), so that moving
  // from page to page neither repeats nor misses one; a new tab starts from what was delivered before it opened.
  const signedIn = document.querySelector("meta[name=csrf-token]") !== null;
  const canNotify = signedIn && "Notification" in window;
  const SEEN_KEY = "tocsin-seen-pages";
  let stored = null;
  try { stored = JSON.parse(sessionStorage.getItem(SEEN_KEY) || "null"); } catch (_) { stored = null; }
  const firstInTab = !Array.isArray(stored);
  const seenPages = new Set(firstInTab ? [] : stored);
  let pagesReady = null;

  function rememberSeen() {
    try { sessionStorage.setItem(SEEN_KEY, JSON.stringify([...seenPages].slice(-200))); } catch (_) { /* private mode */ }
  }

  async function recentPages() {
    const response = await fetch("/live/pages", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error("pages failed: " + response.status);
    return (await response.json()).pages;
  }

  async function announcePages() {
    if (!canNotify || Notification.permission !== "granted") return;
    try {
      await pagesReady;
      for (const page of await recentPages()) {
        if (seenPages.has(page.id)) continue;
        seenPages.add(page.id);
        rememberSeen();
        if (page.status !== "triggered") continue;
        const note = new Notification(`#${page.number} ${page.title}`, {
          body: `You are paged (${page.urgency} urgency, by ${page.channel}). Click to open the incident.`,
          tag: `tocsin-incident-${page.number}`,
        });
        note.addEventListener("click", () => { window.focus(); window.location.assign(page.url); });
      }
    } catch (err) {
      console.warn(err);
    }
  }

  function showNotifyState() {
    const button = document.getElementById("notify-enable");
    const state = document.getElementById("notify-state");
    if (!button || !state || !canNotify) return;
    const permission = Notification.permission;
    button.hidden = permission !== "default";
    state.hidden = permission === "default";
    state.textContent = permission === "granted" ? "Browser notifications on" : "Browser notifications blocked";
    body.dataset.notifications = permission;
  }

  // Live updates: on the live pages, and on every page once notifications are allowed.
  let source = null;
  function openLive() {
    if (source || !("EventSource" in window)) return;
    source = new EventSource("/live");
    source.addEventListener("change", (event) => {
      let changed = null;
      try { changed = JSON.parse(event.data).incidents; } catch (_) { /* refresh everything */ }
      // Pages first: the list reloads itself for its first incident, which would cut the announcement short.
      announcePages().finally(() => { if (live) refresh(changed); });
    });
    source.addEventListener("open", () => { body.dataset.liveConnected = "yes"; });
  }

  if (canNotify) {
    if (firstInTab) {
      pagesReady = recentPages().then((pages) => { for (const page of pages) seenPages.add(page.id); rememberSeen(); }, () => {});
    } else {
      announcePages();  // anything delivered while the previous page was being left
    }
    showNotifyState();
    const button = document.getElementById("notify-enable");
    if (button) {
      button.addEventListener("click", async () => {
        await Notification.requestPermission();
        showNotifyState();
        if (Notification.permission === "granted") openLive();
      });
    }
  }
  if (live || (canNotify && Notification.permission === "granted")) openLive();

  // The service worker (installable app, pages by Web Push) at the root scope; "Enable notifications on this device"
  // on one's own page subscribes this browser and stores the subscription as a contact method.
  if (signedIn && "serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((err) => console.warn(err));
  }

  function keyBytes(text) {
    const b64 = (text + "=".repeat((4 - (text.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }

  function deviceName() {
    const agent = navigator.userAgent;
    const system = /Android/.test(agent) ? "Android" : /iPhone|iPad/.test(agent) ? "iOS"
      : /Mac OS/.test(agent) ? "macOS" : /Windows/.test(agent) ? "Windows" : /Linux/.test(agent) ? "Linux" : "";
    const browser = /Firefox\//.test(agent) ? "Firefox" : /Edg\//.test(agent) ? "Edge"
      : /Chrom(e|ium)\//.test(agent) ? "Chrome" : /Safari\//.test(agent) ? "Safari" : "Browser";
    return (browser + (system ? " on " + system : "")).slice(0, 100);
  }

  const pushButton = document.getElementById("push-enable");
  const pushState = document.getElementById("push-state");
  if (pushButton && pushState) {
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      pushState.textContent = "This browser cannot receive pages by push.";
    } else {
      pushButton.hidden = false;
      pushButton.addEventListener("click", async () => {
        pushButton.disabled = true;
        pushState.textContent = "Enabling…";
        try {
          if (await Notification.requestPermission() !== "granted") throw new Error("notifications are blocked for this site");
          const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
          await navigator.serviceWorker.ready;
          const subscription = (await registration.pushManager.getSubscription())
            || await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(pushButton.dataset.key) });
          const json = subscription.toJSON();
          const csrf = document.querySelector("meta[name=csrf-token]").content;
          const response = await fetch("/me/push-subscriptions", {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
            body: JSON.stringify({ endpoint: json.endpoint, keys: json.keys, name: deviceName() }),
          });
          if (!response.ok) throw new Error("Tocsin answered " + response.status);
          window.location.assign("/me?notice=" + encodeURIComponent("Pages now come to this device too."));
        } catch (err) {
          pushState.textContent = "Could not enable notifications: " + err.message;
          pushButton.disabled = false;
        }
      });
    }
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
  // Regulatory clocks count down to their deadline each second; the server's text stays for readers without this.
  function left(ms) {
    const over = ms < 0;
    let s = Math.floor(Math.abs(ms) / 1000);
    const d = Math.floor(s / 86400);
    s -= d * 86400;
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const text = (d ? d + "d " : "") + h + "h " + String(m).padStart(2, "0") + "m " + String(s % 60).padStart(2, "0") + "s";
    return over ? "overdue by " + text : text + " left";
  }
  const countdowns = document.querySelectorAll("[data-countdown]");
  if (countdowns.length) {
    const tick = () => {
      for (const el of countdowns) {
        const ms = Date.parse(el.dataset.countdown) - Date.now();
        el.textContent = left(ms);
        el.classList.toggle("error", ms < 0);
      }
    };
    tick();
    setInterval(tick, 1000);
  }
})();
