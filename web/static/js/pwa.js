/* The optional PWA layer: registers the service worker, offers "keep offline" on a paper's page, and turns a boosted
   navigation that fails without the network into a real one (which the service worker answers from its caches). */
(function () {
  "use strict";
  if (!("serviceWorker" in navigator) || !("caches" in window)) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/" });

  function setUp(root) {
    const box = root.querySelector(".offline-toggle");
    if (!box) return;
    const cacheName = box.dataset.offlineCache;
    const paper = box.dataset.paper;
    // The scans this page links to (their links start with the paper's own path).
    const files = Array.from(root.querySelectorAll("a[href]"))
      .map(function (a) { return new URL(a.href, window.location.href); })
      .filter(function (u) { return u.origin === window.location.origin && u.pathname.startsWith(paper + "/files/"); })
      .map(function (u) { return u.pathname; });
    const urls = [paper, "/papers"].concat(files);
    const keep = box.querySelector(".offline-keep");
    const drop = box.querySelector(".offline-drop");
    const state = box.querySelector(".offline-state");
    const keptText = box.querySelector(".offline-kept-text").textContent;

    async function show() {
      const cache = await caches.open(cacheName);
      const kept = Boolean(await cache.match(paper, { ignoreVary: true }));
      keep.hidden = kept;
      drop.hidden = !kept;
      state.textContent = kept ? keptText : "";
    }
    keep.addEventListener("click", async function () {
      const cache = await caches.open(cacheName);
      await Promise.all(urls.map(async function (url) {
        const response = await fetch(url, { credentials: "same-origin" });
        if (response.ok) await cache.put(url, response);
      }));
      await show();
    });
    drop.addEventListener("click", async function () {
      const cache = await caches.open(cacheName);
      await Promise.all(urls.filter(function (u) { return u !== "/papers"; }).map(function (u) { return cache.delete(u); }));
      await show();
    });
    box.hidden = false;
    show();
  }

  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  document.addEventListener("htmx:afterSettle", function () { setUp(document); });
  document.addEventListener("htmx:sendError", function (event) {
    const path = event.detail && event.detail.pathInfo && event.detail.pathInfo.requestPath;
    if (path) window.location.href = path;
  });
})();
