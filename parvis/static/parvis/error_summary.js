/* The summary of a form sent back with errors takes the focus (templates/forms/error_summary.html).
   Its `autofocus` does it without a script, except on an address with a #fragment: the browser
   then skips autofocus and, once the page has loaded, moves the focus to the fragment's target
   (the document itself when that target is not focusable). A form whose action ends in
   #its-section comes back so. This script gives the summary the focus in that case too, after the
   browser's own move, unless the visitor has moved it elsewhere. */
(() => {
  function focusSummary() {
    const summary = document.querySelector(".form-summary[autofocus]");
    const active = document.activeElement;
    if (summary && (!active || active === document.body)) {
      summary.focus();
    }
  }

  if (document.readyState === "complete") {
    focusSummary();
  } else {
    window.addEventListener("load", () => setTimeout(focusSummary, 0));
  }
})();
