// Light behaviour only: filters submit when a choice changes.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
});
