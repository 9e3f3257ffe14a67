// Light behaviour only: a filter chosen with the mouse applies at once; one stepped through
// with the arrow keys applies on Enter (or the Filter button), so a keyboard user can go
// through the choices without a page load at each (WCAG 3.2.2, on input).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    var byKey = false;
    el.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {
        e.preventDefault();
        el.form.submit();
        return;
      }
      byKey = true;
    });
    el.addEventListener("pointerdown", function () { byKey = false; });
    el.addEventListener("change", function () {
      if (!byKey) { el.form.submit(); }
    });
  });
});
