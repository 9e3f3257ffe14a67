(function () {
  "use strict";
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
