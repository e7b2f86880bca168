// The calendar without a round trip: ticking or unticking a day marks it « ✎ » as a change made
// here (the page works the same without JavaScript: the server marks it on the next display).
(function () {
  "use strict";
  var form = document.querySelector(".resa-form");
  if (!form) {
    return;
  }
  var added = form.getAttribute("data-added") || "";
  var removed = form.getAttribute("data-removed") || "";
  form.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches('input[type="checkbox"][name="c"]')) {
      return;
    }
    var cell = box.closest(".resa-cell");
    var note = cell && cell.querySelector(".resa-change");
    if (!note) {
      return;
    }
    var booked = cell.getAttribute("data-booked") === "1";
    var changed = box.checked !== booked;
    cell.classList.toggle("resa-cell--changed", changed);
    note.textContent = changed ? "✎ " + (box.checked ? added : removed) : "";
  });
})();
