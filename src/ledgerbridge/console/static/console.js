/* Console behaviour without a framework: polling fragments, forms that update a region,
   live filters and select-all. Every page works without this script as plain HTML. */
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function announce(text) {
    var region = document.getElementById("announce");
    if (region) { region.textContent = text; }
  }

  function fetchFragment(url, options) {
    options = options || {};
    options.headers = Object.assign({ "X-Console-Partial": "1" }, options.headers || {});
    options.credentials = "same-origin";
    return fetch(url, options).then(function (response) {
      if (response.status === 401) { window.location.assign("/login"); }
      return response.text().then(function (text) { return { ok: response.ok, html: text }; });
    });
  }

  function withQuery(url) {
    return url + (url.indexOf("?") === -1 ? window.location.search : "");
  }

  function refresh(el) {
    var url = el.getAttribute("data-poll") || el.getAttribute("data-src");
    if (!url) { return Promise.resolve(); }
    return fetchFragment(withQuery(url)).then(function (result) {
      if (result.ok) { el.innerHTML = result.html; }
    });
  }

  function startPolling(el) {
    var interval = parseInt(el.getAttribute("data-interval") || "5000", 10);
    refresh(el);
    window.setInterval(function () {
      if (!document.hidden) { refresh(el); }
    }, interval);
  }

  function encode(form, submitter) {
    var data = new FormData(form, submitter || undefined);
    return new URLSearchParams(data).toString();
  }

  function onSubmit(event) {
    var form = event.target;
    if (!form.hasAttribute("data-partial")) { return; }
    event.preventDefault();
    var target = document.querySelector(form.getAttribute("data-target"));
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetchFragment(form.getAttribute("action"), {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrf() },
      body: encode(form, event.submitter)
    }).then(function (result) {
      if (target) { target.innerHTML = result.html; announce(target.textContent.trim()); }
      var again = form.getAttribute("data-refresh");
      if (again) { document.querySelectorAll(again).forEach(refresh); }
      document.querySelectorAll("[data-poll]").forEach(refresh);
    }).finally(function () {
      buttons.forEach(function (b) { b.disabled = false; });
    });
  }

  function onFilterChange(event) {
    var form = event.target.form;
    if (!form || !form.hasAttribute("data-live")) { return; }
    var query = new URLSearchParams(new FormData(form)).toString();
    window.history.replaceState(null, "", form.getAttribute("action") + "?" + query);
    document.querySelectorAll(form.getAttribute("data-live")).forEach(refresh);
  }

  function onClick(event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[data-select-all]")) { return; }
    var name = box.getAttribute("data-select-all");
    var form = box.form || document;
    form.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (c) {
      c.checked = box.checked;
    });
  }

  document.addEventListener("submit", onSubmit);
  document.addEventListener("change", onFilterChange);
  document.addEventListener("input", function (event) {
    if (event.target.type === "search") { onFilterChange(event); }
  });
  document.addEventListener("click", onClick);
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(startPolling);
    document.querySelectorAll("form[data-live] noscript").forEach(function (n) { n.remove(); });
  });
})();
