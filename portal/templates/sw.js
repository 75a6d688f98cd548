// Home Care Companion service worker (rendered by portal/pwa.py; the static export
// writes its own copy). Guide pages the reader opens are kept for offline use:
// network first, the saved copy when there is no network, else an offline page.
// Only the public guide and static files are cached, never pages with patient data.
"use strict";

const CONFIG = {{ config|safe }};
const BASE = new URL(self.registration.scope);
const STATIC_CACHE = "hcc-static-" + CONFIG.version;
const PAGES_CACHE = "hcc-pages-v1";
const GUIDE = new RegExp("^(" + CONFIG.languages.join("|") + ")/(guide|offline)/");

const at = (path) => new URL(path, BASE).href;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(STATIC_CACHE)
      .then((cache) => cache.addAll(CONFIG.precache.map(at)))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key.startsWith("hcc-static-") && key !== STATIC_CACHE).map((key) => caches.delete(key)),
      ))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== BASE.origin || !url.pathname.startsWith(BASE.pathname)) {
    return;
  }
  const path = url.pathname.slice(BASE.pathname.length);
  if (path.startsWith(CONFIG.staticPrefix)) {
    // Only the precached files are kept: the admin's static files need not fill the phone.
    event.respondWith(fetch(request).catch(() => caches.match(request).then((saved) => saved || Response.error())));
  } else if (GUIDE.test(path) && !url.search) {
    // A page printed for one patient (?for=...) is not kept.
    event.respondWith(networkFirst(request).catch(() => offlinePage(path)));
  }
});

async function networkFirst(request) {
  try {
    const response = await fetch(request);
    if (response.ok && !(response.headers.get("Cache-Control") || "").includes("no-store")) {
      const cache = await caches.open(PAGES_CACHE);
      await cache.put(request, response.clone());
    }
    return response;
  } catch (error) {
    const saved = await caches.match(request);
    if (saved) {
      return saved;
    }
    throw error;
  }
}

async function offlinePage(path) {
  const page = CONFIG.offlinePages[path.split("/")[0]] || CONFIG.offlinePages.en;
  return (await caches.match(at(page))) || Response.error();
}

// Web push (portal/push.py). The payload is encrypted for this device; with discreet mode on
// (the default) it says only that there is a reminder, and the text is behind the link.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = {};
  }
  event.waitUntil(
    self.registration.showNotification(data.title || "Home Care Companion", {
      body: data.body || "",
      tag: data.tag,
      data: { url: data.url || BASE.href },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || BASE.href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((client) => client.url === url);
      return open ? open.focus() : self.clients.openWindow(url);
    }),
  );
});
