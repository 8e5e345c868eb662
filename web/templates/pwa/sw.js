{% autoescape false %}
/* Công Dân Số service worker {{ version }}: the app shell from its installation on; the list of papers and the papers
   the citizen keeps offline (and their scans), only those; everything else always from the network. Signing out
   clears every cache (the server answers with Clear-Site-Data). */
const SHELL_CACHE = "cds-shell-{{ version }}";
const OFFLINE_CACHE = {{ offline_cache | tojson }};
const SHELL = {{ (shell + ["/offline"]) | tojson }};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("cds-shell-") && n !== SHELL_CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim())
  );
});

async function fromNetwork(request) {
  const response = await fetch(request);
  const url = new URL(request.url);
  if (request.method === "GET" && response.ok && url.origin === self.location.origin) {
    const kept = await caches.open(OFFLINE_CACHE);
    // A page kept offline is refreshed whenever it is seen online, so the offline copy stays current.
    if (await kept.match(url.pathname, { ignoreVary: true, ignoreSearch: true })) {
      await kept.put(url.pathname, response.clone());
    }
  }
  return response;
}

async function offline(request) {
  const url = new URL(request.url);
  const kept = await caches.match(url.pathname, { ignoreVary: true, ignoreSearch: true });
  if (kept) return kept;
  if (request.mode === "navigate" || request.headers.get("HX-Request") === "true") {
    const fallback = await caches.match("/offline", { ignoreVary: true });
    if (fallback) return fallback;
  }
  return Response.error();
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
    return;
  }
  event.respondWith(fromNetwork(request).catch(() => offline(request)));
});
{% endautoescape %}
