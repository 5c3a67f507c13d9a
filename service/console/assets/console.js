// The console's own script: copy buttons, and focus on what a form's
// answer brought. Everything else is htmx, driven by attributes; the pages
// that only read work without any script.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var said = button.parentElement.querySelector(".copied");
    navigator.clipboard.writeText(source.textContent).then(
      function () { if (said) said.textContent = "Copied"; },
      function () { if (said) said.textContent = "Copy failed: select the text instead"; }
    );
  });

  // After a form's answer is swapped in, move focus to its outcome (an
  // error first) so that keyboard and screen-reader users land on it.
  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.detail.elt || document;
    var target = document.querySelector("#form-error, .field-error, #result");
    if (target && root.contains(target)) {
      if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      target.focus();
    }
  });
})();
