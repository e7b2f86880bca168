/* « Signaler une absence »: the « Du » / « Au » fields are shown only once « Plusieurs jours »
   is chosen. Without JavaScript they are always shown (and said to be for « Plusieurs jours »). */
(function () {
  "use strict";
  var group = document.getElementById("absence-jours");
  if (!group) {
    return;
  }
  var several = group.getAttribute("data-plusieurs");
  var radios = document.querySelectorAll('input[name="quand"]');

  function update() {
    var chosen = document.querySelector('input[name="quand"]:checked');
    group.hidden = !(chosen && chosen.value === several);
  }

  radios.forEach(function (radio) {
    radio.addEventListener("change", update);
  });
  update();
})();
