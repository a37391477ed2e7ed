// The console's progressive enhancement: local times, live regions, keyboard navigation.
// Served from the package (the Content-Security-Policy allows no inline script); every page
// works without it, only less live.
"use strict";
(function () {
  var POLL_MS = 1500;

  function relative(seconds) {
    var size = Math.abs(seconds), units = [["d", 86400], ["h", 3600], ["m", 60]], amount = Math.floor(size) + "s";
    for (var i = 0; i < units.length; i++) {
      if (size >= units[i][1]) { amount = Math.floor(size / units[i][1]) + units[i][0]; break; }
    }
    return seconds >= 0 ? amount + " ago" : "in " + amount;
  }

  var LOCAL = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
                second: "2-digit", timeZoneName: "short" };

  function localTimes(root) {
    var now = Date.now() / 1000;
    root.querySelectorAll("time[data-ts]").forEach(function (el) {
      var date = new Date(parseFloat(el.getAttribute("data-ts")) * 1000);
      el.textContent = date.toLocaleString(undefined, LOCAL);
      el.title = el.getAttribute("datetime");
    });
    root.querySelectorAll("[data-ago]").forEach(function (el) {
      el.textContent = "(" + relative(now - parseFloat(el.getAttribute("data-ago"))) + ")";
    });
  }

  function poll() {
    var live = document.getElementById("live");
    if (!live) { return; }
    setInterval(function () {
      if (document.hidden) { return; }
      fetch(window.location.href, { credentials: "same-origin", headers: { "X-Console-Live": "1" } })
        .then(function (response) {
          if (response.redirected || !response.ok) { window.location.reload(); return null; }
          return response.text();
        })
        .then(function (text) {
          if (text === null) { return; }
          var focused = document.activeElement && document.activeElement.id;
          var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("live-region");
          var current = document.getElementById("live-region");
          if (!fresh || !current) { return; }
          current.replaceWith(document.adoptNode(fresh));
          localTimes(fresh);
          if (focused && document.getElementById(focused)) { document.getElementById(focused).focus(); }
        })
        .catch(function () { /* the next poll tries again */ });
    }, POLL_MS);
  }

  var goPending = false;
  var pages = { n: "/console/", h: "/console/holds", o: "/console/operations", e: "/console/health" };

  function keys(event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA")) {
      if (event.key === "Escape") { target.blur(); }
      return;
    }
    if (goPending) {
      goPending = false;
      if (pages[event.key]) { window.location.href = pages[event.key]; }
      return;
    }
    if (event.key === "g") { goPending = true; return; }
    if (event.key === "/") {
      var search = document.getElementById("search");
      if (search) { event.preventDefault(); search.focus(); }
      return;
    }
    if (event.key === "j" || event.key === "k") {
      var links = Array.prototype.slice.call(document.querySelectorAll("a.row-link"));
      if (!links.length) { return; }
      var at = links.indexOf(document.activeElement);
      var next = event.key === "j" ? Math.min(at + 1, links.length - 1) : Math.max(at - 1, 0);
      links[next].focus();
      event.preventDefault();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    poll();
    document.addEventListener("keydown", keys);
    localTimes(document);
    setInterval(function () { localTimes(document); }, 15000);
  });
})();
