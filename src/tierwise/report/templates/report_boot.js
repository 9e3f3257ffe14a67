(function () {
  "use strict";
  // A nav link scrolls its section to just below the sticky header, whatever its height
  // (the nav wraps onto more lines in a narrower window): report.css reads --header-height.
  var root = document.documentElement;
  var header = document.querySelector("header");
  function measureHeader() {
    if (header) {
      root.style.setProperty("--header-height", Math.ceil(header.getBoundingClientRect().height) + "px");
    }
  }
  measureHeader();
  window.addEventListener("resize", measureHeader);
  if (header && typeof ResizeObserver === "function") {
    new ResizeObserver(measureHeader).observe(header);
  }

  // Each chart is as wide as its block ("container" width); Vega draws it again on resize.
  var charts = document.querySelectorAll("[data-spec]");
  charts.forEach(function (el) {
    var spec;
    try {
      spec = JSON.parse(document.getElementById(el.getAttribute("data-spec")).textContent);
    } catch (err) {
      el.setAttribute("data-rendered", "error");
      el.textContent = "This chart's data could not be read.";
      console.error(err);
      return;
    }
    vegaEmbed(el, spec, { actions: false, renderer: "svg" })
      .then(function () { el.setAttribute("data-rendered", "1"); })
      .catch(function (err) {
        el.setAttribute("data-rendered", "error");
        el.textContent = "This chart could not be drawn: " + err;
        console.error(err);
      });
  });
})();
