/* The summary of a form sent back with errors takes the focus (templates/forms/error_summary.html).
   Its `autofocus` does it without a script, except on an address with a #fragment: the browser then
   leaves the focus where it is (HTML's autofocus rules), and a form whose action ends in
   #its-section comes back so. This script gives the summary the focus in that case too, unless the
   visitor has already moved it. */
(() => {
  function focusSummary() {
    const summary = document.querySelector(".form-summary[autofocus]");
    const active = document.activeElement;
    if (summary && (!active || active === document.body)) {
      summary.focus();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusSummary);
  } else {
    focusSummary();
  }
})();
