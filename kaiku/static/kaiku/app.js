/* Kaiku app pages: small behaviours declared in the markup, so that templates need no
 * inline event handlers and the Content-Security-Policy can forbid them (kaiku/lib/security.py).
 *
 *   <form data-confirm="Delete this?">        asks before submitting
 *   <select data-submit-on-change>            submits its form when changed
 *   <input data-select-on-focus>              selects its text on focus (secrets shown once)
 */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLElement && field.hasAttribute("data-submit-on-change") && field.form) {
      field.form.requestSubmit();
    }
  });

  document.addEventListener("focusin", function (event) {
    var field = event.target;
    if (field instanceof HTMLInputElement && field.hasAttribute("data-select-on-focus")) {
      field.select();
    }
  });
})();
