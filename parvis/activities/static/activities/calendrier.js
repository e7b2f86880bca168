// The calendar without a round trip: ticking or unticking a day marks it « ✎ » as a change made
// here, and the basket's counts follow (the page works the same without JavaScript: the server
// marks and counts them on the next display).
(function () {
  "use strict";
  var form = document.querySelector(".resa-form");
  if (!form) {
    return;
  }
  var added = form.getAttribute("data-added") || "";
  var removed = form.getAttribute("data-removed") || "";
  var counts = {
    ajout: form.querySelector('[data-resa-count="ajout"]'),
    retrait: form.querySelector('[data-resa-count="retrait"]'),
  };

  function count() {
    if (!counts.ajout || !counts.retrait) {
      return;
    }
    var plus = 0;
    var minus = 0;
    form.querySelectorAll('input[type="checkbox"][name="c"]').forEach(function (box) {
      var cell = box.closest(".resa-cell");
      var booked = cell && cell.getAttribute("data-booked") === "1";
      if (box.checked && !booked) {
        plus += 1;
      } else if (!box.checked && booked) {
        minus += 1;
      }
    });
    counts.ajout.textContent = String(plus);
    counts.retrait.textContent = String(minus);
  }

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
    count();
  });
})();
