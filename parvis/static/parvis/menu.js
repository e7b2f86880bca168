/* The main navigation folds behind « Menu » on narrow screens (parvis.css, « Menu compact »).
   Loaded in <head> without `defer`: the class it puts on <html> is there before the first paint,
   so the menu never flashes open on a phone. Without this script the button is never shown and
   the whole list is, as on a wide screen. */
(() => {
  document.documentElement.classList.add("menu-compact");

  function wire() {
    const toggle = document.querySelector(".main-nav__toggle");
    if (!toggle) {
      return;
    }
    const setOpen = (open) => toggle.setAttribute("aria-expanded", String(open));
    toggle.addEventListener("click", () => {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    // Escape closes the open menu from any of its links and gives focus back to the button.
    toggle.parentElement.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        toggle.focus();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
