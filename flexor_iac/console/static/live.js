/* Flexor console: refresh the live regions ([data-live] = the URL of an HTML fragment) every
   5 seconds, without a reload. No dependencies, no build step. */
(function () {
  "use strict";
  var INTERVAL_MS = 5000;
  var last = new WeakMap();

  function refresh(region) {
    return fetch(region.getAttribute("data-live"), {
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Accept": "text/html" }
    }).then(function (response) {
      if (!response.ok || response.redirected) {
        throw new Error("the console answered " + response.status);
      }
      return response.text();
    }).then(function (html) {
      if (last.get(region) !== html) {
        last.set(region, html);
        region.innerHTML = html;
      }
      region.removeAttribute("data-stale");
    });
  }

  function tick() {
    var regions = document.querySelectorAll("[data-live]");
    var pending = [];
    for (var i = 0; i < regions.length; i += 1) {
      pending.push(refresh(regions[i]).catch(function (region) {
        return function () { region.setAttribute("data-stale", "true"); };
      }(regions[i])));
    }
    Promise.all(pending).then(function () { window.setTimeout(tick, INTERVAL_MS); });
  }

  if (document.querySelector("[data-live]")) {
    window.setTimeout(tick, INTERVAL_MS);
  }
}());
