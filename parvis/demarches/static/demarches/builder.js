/* The builder's drag and drop (issue 21): a field of a step moved by the mouse or a finger is
   saved by posting the step's new order (the form « ordre-N » next to its list). The buttons
   « Monter » / « Descendre » do the same without JavaScript and from the keyboard. */
(function () {
  "use strict";
  document.querySelectorAll("ol.builder-fields[data-order-form]").forEach(function (list) {
    var form = document.getElementById(list.getAttribute("data-order-form"));
    if (!form) {
      return;
    }
    var dragged = null;
    list.querySelectorAll("li.builder-field").forEach(function (item) {
      item.setAttribute("draggable", "true");
      item.addEventListener("dragstart", function (event) {
        dragged = item;
        item.classList.add("builder-field--dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", item.getAttribute("data-name"));
      });
      item.addEventListener("dragend", function () {
        item.classList.remove("builder-field--dragging");
        dragged = null;
      });
      item.addEventListener("dragover", function (event) {
        if (dragged && dragged !== item) {
          event.preventDefault();
          item.classList.add("builder-field--over");
        }
      });
      item.addEventListener("dragleave", function () {
        item.classList.remove("builder-field--over");
      });
      item.addEventListener("drop", function (event) {
        event.preventDefault();
        item.classList.remove("builder-field--over");
        if (!dragged || dragged === item) {
          return;
        }
        var items = Array.prototype.slice.call(list.children);
        if (items.indexOf(dragged) < items.indexOf(item)) {
          item.after(dragged);
        } else {
          item.before(dragged);
        }
        var order = Array.prototype.map.call(list.children, function (li) {
          return li.getAttribute("data-name");
        });
        form.querySelector("input[name=ordre]").value = order.join(",");
        form.submit();
      });
    });
  });
})();
