/* « Règles de réservation » (issue 21 §7): each rule shows only the inputs its kind uses, and the
   preview of the sentences follows the entries, computed by the server (the same request as the
   « Prévisualiser » button, which stays for use without JavaScript). */
(function () {
  "use strict";
  var form = document.querySelector("form[data-rules-form]");
  var preview = document.getElementById("apercu");
  if (!form || !preview) {
    return;
  }
  var NEEDS = {
    "": [],
    days_before: ["days", "working_days", "time"],
    hours_before: ["hours"],
    weekly: ["weekday", "time"],
    monthly: ["day", "time"],
    weeks_before: ["weeks"]
  };

  function showParts(rule) {
    var kind = rule.querySelector('[data-part="kind"] select');
    var needed = NEEDS[kind.value] || [];
    rule.querySelectorAll(".rule-part").forEach(function (part) {
      var name = part.getAttribute("data-part");
      part.hidden = name !== "kind" && needed.indexOf(name) === -1;
    });
  }

  var timer = null;
  var asked = 0;
  function refreshPreview() {
    var data = new FormData(form);
    data.append("previsualiser", "1");
    var mine = ++asked;
    fetch(form.action || window.location.href, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    })
      .then(function (response) {
        return response.text();
      })
      .then(function (html) {
        if (mine !== asked) {
          return; // a later entry's answer is on its way
        }
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("apercu");
        if (fresh) {
          preview.innerHTML = fresh.innerHTML;
        }
      })
      .catch(function () {
        /* the « Prévisualiser » button still works */
      });
  }

  form.querySelectorAll("[data-rule]").forEach(function (rule) {
    showParts(rule);
    rule.querySelector('[data-part="kind"] select').addEventListener("change", function () {
      showParts(rule);
    });
  });
  form.addEventListener("change", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refreshPreview, 250);
  });
})();
