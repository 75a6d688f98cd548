// Home Care Companion service worker (rendered by portal/pwa.py; the static export
// writes its own copy). Guide pages the reader opens are kept for offline use:
// network first, the saved copy when there is no network, else an offline page.
// Only the public guide and static files are kept, and only responses the server marked
// "Cache-Control: public": a page for a signed-in person (their menu, their clinic) is
// never kept; for them the public version of the same page is fetched, without cookies,
// and kept instead. Signing out clears everything (Clear-Site-Data).
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
      // Without cookies: the offline page must be the public one, whoever installs the worker.
      .then((cache) => cache.addAll(CONFIG.precache.map((path) => new Request(at(path), { credentials: "omit" }))))
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
    event.respondWith(networkFirst(request, event).catch(() => offlinePage(path)));
  }
});

function isPublic(response) {
  if (!CONFIG.requirePublic) {
    return true; // The static export: every file is the public guide.
  }
  const control = (response.headers.get("Cache-Control") || "").toLowerCase();
  return /(^|[\s,])public([\s,]|$)/.test(control) && !/private|no-store/.test(control);
}

async function keep(url, response) {
  if (response.ok && response.type === "basic" && isPublic(response)) {
    const cache = await caches.open(PAGES_CACHE);
    await cache.put(url, response);
  }
}

async function networkFirst(request, event) {
  try {
    const response = await fetch(request);
    if (isPublic(response)) {
      await keep(request.url, response.clone());
    } else if (response.ok) {
      // A signed-in reader's page: keep the public version of it instead.
      event.waitUntil(fetch(request.url, { credentials: "omit" }).then((copy) => keep(request.url, copy)).catch(() => {}));
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
