{% comment %}
Home Care Companion service worker (rendered by portal/pwa.py; the static export writes
its own copy).
- Guide pages: network first; a copy is kept for offline reading, but only a response the
  server marked "Cache-Control: public" (the page as an anonymous reader gets it). For a
  signed-in reader the public version of the same page is fetched, without cookies.
- Any other page opens from the network; offline, the app's offline start page stands in.
  Private pages are never kept.
- The offline start page lists the guide pages kept here and, from the reader's own list
  (the API names them; pages say who is signed in with the HCC-Reader header), the
  modules their care team gave them. The list is dropped as soon as a page says someone
  else, or nobody, is signed in, and signing out clears everything (Clear-Site-Data).
- A caregiver who must not handle dressings reads guide pages without the dressing-change
  steps (the server leaves them out for them, and says so with HCC-Safe-View). Offline, such a
  reader never gets the public copy of a guide page: only the copy kept for them in
  hcc-safe-v1 (dropped with the reader), else the offline page. The reader's list says it
  too (hide_dressing_steps), so it holds from the first signed-in page.
- Install keeps only a few static files; the offline page of the reader's language comes
  with the first page they open. A new version takes over at once (skipWaiting) and the
  open pages offer a reload (sw-register.js).
{% endcomment %}"use strict";

const CONFIG = {{ config|safe }};
const BASE = new URL(self.registration.scope);
const STATIC_CACHE = "hcc-static-" + CONFIG.version;
const PAGES_CACHE = "hcc-pages-v1";
const READER_CACHE = "hcc-reader-v1";
const READER_KEY = "__reader.json";
const SAFE_CACHE = "hcc-safe-v1";
const SAFE_KEY = "__safe";
const LANGUAGE_KEY = "__language";
const GUIDE = new RegExp("^(" + CONFIG.languages.join("|") + ")/(guide|offline)/");
{# The reader's list is asked for again after this long, when pages keep naming the same reader. #}
const REFRESH_MS = 10 * 60 * 1000;

const at = (path) => new URL(path, BASE).href;
const anonymous = (path) => new Request(at(path), { credentials: "omit" });

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(STATIC_CACHE)
      .then((cache) => cache.addAll(CONFIG.precache.map(anonymous)))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key.startsWith("hcc-static-") && key !== STATIC_CACHE).map((key) => caches.delete(key)),
      ))
      .then(() => self.clients.claim())
      .then(() => language().then(keepOfflinePage))
      .then(refreshKeptReader),
  );
});

self.addEventListener("message", (event) => {
  const message = event.data || {};
  if (message.type === "visited") {
    {# The first page, opened before this worker was in charge, and who it says is signed in. #}
    {# (A page older than data-reader says nothing: the server is asked.) #}
    const reader = typeof message.reader === "string" ? message.reader : null;
    event.waitUntil(visited(message.url, message.language).then(() => refreshReader(reader)));
  } else if (message.type === "refresh") {
    {# A page changed what the reader should have offline (say, a new module). #}
    event.waitUntil(refreshReader(null));
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== BASE.origin || !url.pathname.startsWith(BASE.pathname)) {
    return;
  }
  if (request.method !== "GET") {
    if (request.mode === "navigate" && !self.navigator.onLine) {
      {# A form sent with no network: the app's offline page says it was not sent, with the #}
      {# care team's numbers, instead of the browser's own error. Online, forms go untouched. #}
      event.respondWith(notSentPage());
    }
    return;
  }
  const path = url.pathname.slice(BASE.pathname.length);
  if (path.startsWith(CONFIG.staticPrefix)) {
    event.respondWith(fetch(request).catch(() => caches.match(request).then((saved) => saved || Response.error())));
  } else if (GUIDE.test(path) && !url.search) {
    {# A page printed for one patient (?for=...) is not kept. #}
    event.respondWith(guidePage(request, event, path.split("/")[0]).catch(() => offlinePage(path.split("/")[0])));
  } else if (request.mode === "navigate") {
    event.respondWith(page(request, event));
  }
});

function isPublic(response) {
  if (!CONFIG.requirePublic) {
    return true; {# The static export: every file is the public guide. #}
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

{# The public version of a page, fetched without cookies, when not kept yet (or always). #}
async function keepPublic(url, again) {
  if (!again && (await caches.match(url))) {
    return;
  }
  try {
    await keep(url, await fetch(url, { credentials: "omit" }));
  } catch (error) {
    {# Offline now: kept another time. #}
  }
}

async function guidePage(request, event, lang) {
  try {
    const response = await fetch(request);
    if (isPublic(response)) {
      await keep(request.url, response.clone());
    } else if (response.ok) {
      event.waitUntil(keepPublic(request.url, true));
      if (response.headers.has("HCC-Reader")) {
        event.waitUntil(keepSafe(request.url, response.clone()));
      }
    }
    if (request.mode === "navigate") {
      event.waitUntil(learn(response, lang));
    }
    return response;
  } catch (error) {
    if (await restricted()) {
      {# Never the public copy, which has the steps: the reader's own copy or the offline page. #}
      const own = await (await caches.open(SAFE_CACHE)).match(request.url);
      if (own) {
        return own;
      }
      throw error;
    }
    const saved = await caches.match(request);
    if (saved) {
      return saved;
    }
    throw error;
  }
}

async function page(request, event) {
  try {
    const response = await fetch(request);
    event.waitUntil(learn(response, ""));
    return response;
  } catch (error) {
    return offlinePage(await language());
  }
}

{# What a page from the network says: its language (or its path's), and who is signed in. #}
async function learn(response, pathLanguage) {
  if (!response.ok || response.type !== "basic") {
    return;
  }
  const lang = (response.headers.get("Content-Language") || pathLanguage).toLowerCase();
  if (CONFIG.offlinePages[lang]) {
    const cache = await caches.open(READER_CACHE);
    await cache.put(at(LANGUAGE_KEY), new Response(lang));
    await keepOfflinePage(lang);
  }
  {# A page without a language in its path is in the reader's own language: their list follows it. #}
  await refreshReader(response.headers.get("HCC-Reader") || "", pathLanguage ? null : lang);
}

async function language() {
  const saved = await caches.match(at(LANGUAGE_KEY));
  const lang = saved ? await saved.text() : "";
  return CONFIG.offlinePages[lang] ? lang : "en";
}

async function keepOfflinePage(lang) {
  const path = CONFIG.offlinePages[lang];
  {# A worker whose files a newer version removed must not bring them back. #}
  if (!path || !(await caches.has(STATIC_CACHE))) {
    return;
  }
  const cache = await caches.open(STATIC_CACHE);
  if (!(await cache.match(at(path)))) {
    try {
      await cache.add(anonymous(path));
    } catch (error) {
      {# Offline now: kept another time. #}
    }
  }
}

async function visited(url, lang) {
  const target = new URL(url, BASE);
  const path = target.pathname.slice(BASE.pathname.length);
  if (target.origin === BASE.origin && GUIDE.test(path) && !target.search) {
    await keepPublic(target.href, false);
  }
  if (CONFIG.offlinePages[lang]) {
    await keepOfflinePage(lang);
  }
}

async function offlinePage(lang) {
  const last = CONFIG.offlinePages[await language()];
  for (const path of [CONFIG.offlinePages[lang], last, ...Object.values(CONFIG.offlinePages)]) {
    const saved = path && (await caches.match(at(path)));
    if (saved) {
      return saved;
    }
  }
  return Response.error();
}

{# The offline page, marked for offline.js to say that the form was not sent. #}
async function notSentPage() {
  const page = await offlinePage(null);
  if (!page.ok) {
    return page;
  }
  const html = (await page.text()).replace("<html ", "<html data-not-sent ");
  return new Response(html, { headers: page.headers });
}

{# Whether the signed-in reader must not see dressing-change steps (see the top). #}
async function restricted() {
  const saved = await (await caches.open(READER_CACHE)).match(at(SAFE_KEY));
  return saved ? (await saved.text()) === "1" : false;
}

async function setRestricted(value) {
  const cache = await caches.open(READER_CACHE);
  await cache.put(at(SAFE_KEY), new Response(value ? "1" : "0"));
  if (!value) {
    await caches.delete(SAFE_CACHE);
  }
}

{# A guide page as a signed-in reader got it: kept for them only when it is the safe view. #}
{# Only the guide's list and module pages say either way; any other page leaves the flag. #}
async function keepSafe(url, response) {
  const said = response.headers.get("HCC-Safe-View");
  if (said === null) {
    return;
  }
  await setRestricted(said === "1");
  if (said === "1") {
    await (await caches.open(SAFE_CACHE)).put(url, response);
  }
}

{# A new version of this worker refreshes the list an older one kept. With none kept, it waits #}
{# for a page to say who is signed in: an anonymous reader's phone never asks for a list. #}
async function refreshKeptReader() {
  if (await (await caches.open(READER_CACHE)).match(at(READER_KEY))) {
    await refreshReader(null);
  }
}

{# Who the latest page said is signed in ("" nobody), since this worker started. #}
let lastSaid = null;

{# The signed-in reader's own list: what their care team gave them to read (kept here, with #}
{# the pages) and their care team's numbers. ``reader`` is who the page said is signed in #}
{# ("" nobody; null: ask the server); ``language`` the reader's language, when the page says it #}
{# (a list in another one links pages in that language: asked for again). #}
async function refreshReader(reader, language = null) {
  if (!CONFIG.readerApi) {
    return;
  }
  if (reader !== null) {
    lastSaid = reader;
  }
  const cache = await caches.open(READER_CACHE);
  const savedResponse = await cache.match(at(READER_KEY));
  const saved = savedResponse ? await savedResponse.json() : null;
  if (saved && reader !== null && saved.reader !== reader) {
    await cache.delete(at(READER_KEY));
    if (reader) {
      {# Someone else signed in. With nobody signed in (a sign-in that ran out), the safe #}
      {# view stays: the person holding the phone may be the one who must not see the steps. #}
      await setRestricted(false);
    }
  }
  const current = saved && saved.reader === reader && (!language || saved.language === language);
  if (reader === "" || (current && Date.now() - saved.fetched < REFRESH_MS)) {
    return;
  }
  let list = null;
  try {
    const response = await fetch(at(CONFIG.readerApi), { credentials: "same-origin", headers: { Accept: "application/json" } });
    list = response.ok ? await response.json() : null;
    if (list && lastSaid !== null && list.reader !== lastSaid) {
      {# Asked for while this reader was signed in, answered after a later page named someone #}
      {# else or nobody (a slow server): it is not kept. #}
      return;
    }
    if (!list && (response.status === 401 || response.status === 403)) {
      await cache.delete(at(READER_KEY));
    }
  } catch (error) {
    return; {# Offline: keep what is there. #}
  }
  if (list) {
    list.fetched = Date.now();
    await cache.put(at(READER_KEY), new Response(JSON.stringify(list), { headers: { "Content-Type": "application/json" } }));
    await setRestricted(Boolean(list.hide_dressing_steps));
    await Promise.all(list.modules.map((module) => keepPublic(at(module.url), false)));
    if (list.hide_dressing_steps) {
      await Promise.all(list.modules.map((module) => keepOwn(at(module.url))));
    }
  }
}

{# The reader's own (safe) copy of an assigned guide page, for reading offline. #}
async function keepOwn(url) {
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (response.ok && response.headers.get("HCC-Safe-View") === "1") {
      await (await caches.open(SAFE_CACHE)).put(url, response);
    }
  } catch (error) {
    {# Offline now: kept another time. #}
  }
}

{# Web push (portal/push.py). The payload is encrypted for this device; with discreet mode on #}
{# (the default) it says only that there is a reminder, and the text is behind the link. #}
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
  event.waitUntil(openFromNotification(event.notification));
});

{# The reminder's page: in the window already showing it, else in an open window of the app, #}
{# else in a new one. Only pages of this app: the path of any other address opens here. #}
async function openFromNotification(notification) {
  notification.close();
  const given = new URL((notification.data && notification.data.url) || BASE.href, BASE);
  const url = new URL(given.pathname + given.search + given.hash, BASE).href;
  const windows = await self.clients.matchAll({ type: "window" });
  const showing = windows.find((client) => client.url === url);
  if (showing) {
    return showing.focus();
  }
  if (windows.length) {
    const moved = await windows[0].navigate(url);
    return (moved || windows[0]).focus();
  }
  return self.clients.openWindow(url);
}
