// Tocsin's service worker: shows the pages that arrive by Web Push, and answers their Acknowledge and Resolve
// buttons from the lock screen by POSTing to the signed one-click link the page carries (no window is opened).
// Clicking the notification itself opens the incident. Nothing is cached.
"use strict";

const ICON = "/icons/icon-192.png";
const DONE = { acknowledge: "Acknowledged", resolve: "Resolved" };

self.addEventListener("install", () => { self.skipWaiting(); });
self.addEventListener("activate", (event) => { event.waitUntil(self.clients.claim()); });

function readPush(event) {
  if (!event.data) return { title: "Tocsin", body: "" };
  try {
    return event.data.json();
  } catch (_) {
    return { title: "Tocsin", body: event.data.text() };
  }
}

self.addEventListener("push", (event) => {
  const data = readPush(event);
  const max = Notification.maxActions || 2;
  const actions = (data.actions || []).slice(0, max).map((a) => ({ action: a.action, title: a.title }));
  event.waitUntil(self.registration.showNotification(data.title || "Tocsin", {
    body: data.body || "",
    tag: data.tag || "tocsin",
    renotify: true,
    requireInteraction: data.urgency === "high",
    icon: ICON,
    data: data,
    actions: actions,
  }));
});

// What the link's answer means (the one-click pages say ok, warn or err in X-Tocsin-Result).
function outcome(action, number, response) {
  const result = response.headers.get("X-Tocsin-Result");
  const what = `#${number}`;
  if (response.ok && result === "ok") return [`${DONE[action] || "Done"}: ${what}`, ""];
  if (response.ok && result === "warn") return [`Nothing to do: ${what}`, "Someone got there first."];
  if (response.status === 409) return [`Not done: ${what}`, "This button was already used, or the incident moved on."];
  if (response.status === 401) return [`Not done: ${what}`, "The link expired or is not valid. Open the incident."];
  return [`Not done: ${what}`, `Tocsin answered ${response.status}. Open the incident.`];
}

async function act(chosen, data) {
  let title;
  let body;
  try {
    const response = await fetch(chosen.url, {
      method: "POST",
      credentials: "omit",
      headers: { Accept: "text/html" },
    });
    [title, body] = outcome(chosen.action, data.incident, response);
  } catch (_) {
    title = `Not done: #${data.incident}`;
    body = "Tocsin could not be reached.";
  }
  await self.registration.showNotification(title, { body: body, tag: data.tag, icon: ICON, data: { url: data.url } });
}

async function openPage(url) {
  const target = new URL(url || "/incidents", self.location.origin);
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) {
    if (client.url === target.href && "focus" in client) return client.focus();
  }
  return self.clients.openWindow(target.href);
}

self.addEventListener("notificationclick", (event) => {
  const note = event.notification;
  const data = note.data || {};
  note.close();
  const chosen = (data.actions || []).find((a) => a.action === event.action);
  if (event.action && chosen) {
    event.waitUntil(act(chosen, data));
  } else {
    event.waitUntil(openPage(data.url));
  }
});

// Named on the worker's scope so that they can also be run from the browser's developer tools (and by the browser
// tests, which cannot click a notification).
self.tocsin = { act: act, openPage: openPage };
