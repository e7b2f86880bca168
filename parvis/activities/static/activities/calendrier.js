// The reservation calendars (one child's, the household grid), with JavaScript. Everything here
// is an improvement: without it every box is a Tab stop, the server marks and counts the changes
// on the next display, and after « Tout cocher » the page opens on the week (its URL fragment)
// with the server's message next to it.
//
// - Ticking or unticking a day marks it « ✎ » as a change made here, and the basket's counts
//   follow.
// - An agenda (table[data-resa-grid]) is one Tab stop: the arrow keys move inside it (the ARIA
//   grid pattern, with a roving tabindex), its help then shows.
// - « Aller à la semaine … » and « Aller au mois : » put the focus in the week they lead to.
// - After « Tout cocher / Tout décocher » (the form's data-focus) or a tool of the household
//   grid, the focus is back on the button used and the message is read out (#resa-annonce).
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
    // The changes of the weeks not shown ride along as hidden values (views._render_calendar).
    plus += form.querySelectorAll('input[type="hidden"][name="ajout"]').length;
    minus += form.querySelectorAll('input[type="hidden"][name="retrait"]').length;
    counts.ajout.textContent = String(plus);
    counts.retrait.textContent = String(minus);
  }

  form.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches('input[type="checkbox"][name="c"]')) {
      return;
    }
    var cell = box.closest(".resa-cell");
    if (!cell) {
      return;
    }
    // A cell the server drew unchanged has no « modification » line: made here, after the
    // label and the booking's state (the order of Painter.cell).
    var note = cell.querySelector(".resa-change");
    if (!note) {
      note = document.createElement("span");
      note.className = "resa-change";
      (cell.querySelector(".resa-state") || cell.querySelector("label")).after(note);
    }
    var booked = cell.getAttribute("data-booked") === "1";
    var changed = box.checked !== booked;
    cell.classList.toggle("resa-cell--changed", changed);
    note.textContent = changed ? "✎ " + (box.checked ? added : removed) : "";
    count();
  });

  // --- The agendas: one Tab stop each, the arrow keys inside --------------------------------

  var FOCUSABLE = 'button:not([disabled]), input[type="checkbox"]:not([disabled]), a[href]';
  var PAGE = 4; // Page Up / Page Down: about a month of weeks

  function Grid(table) {
    var rows = [];
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (tr) {
        var items = [];
        var perCell = {};
        tr.querySelectorAll(FOCUSABLE).forEach(function (el) {
          var cell = el.closest("td, th");
          var col = cell ? cell.cellIndex : 0;
          perCell[col] = (perCell[col] || 0) + 1;
          items.push({ el: el, col: col, pos: perCell[col] - 1 });
        });
        if (items.length) {
          rows.push({ tr: tr, items: items });
        }
      });
    });
    this.table = table;
    this.rows = rows;
    this.current = null;
  }

  Grid.prototype.find = function (el) {
    for (var r = 0; r < this.rows.length; r += 1) {
      var items = this.rows[r].items;
      for (var i = 0; i < items.length; i += 1) {
        if (items[i].el === el) {
          return { row: r, index: i };
        }
      }
    }
    return null;
  };

  Grid.prototype.setCurrent = function (el) {
    if (this.current && this.current !== el) {
      this.current.setAttribute("tabindex", "-1");
    }
    el.setAttribute("tabindex", "0");
    this.current = el;
  };

  Grid.prototype.focus = function (el) {
    this.setCurrent(el);
    el.focus();
  };

  // The item of row `r` nearest to the column and place of `from` (Up / Down keep the day).
  Grid.prototype.near = function (r, from) {
    var items = this.rows[r].items;
    var best = items[0];
    var bestScore = Infinity;
    items.forEach(function (item) {
      var score = Math.abs(item.col - from.col) * 100 + Math.abs(item.pos - from.pos);
      if (score < bestScore) {
        best = item;
        bestScore = score;
      }
    });
    return best.el;
  };

  Grid.prototype.onKey = function (event) {
    var at = this.find(event.target);
    if (!at || event.altKey || event.metaKey) {
      return;
    }
    var rows = this.rows;
    var row = rows[at.row];
    var item = row.items[at.index];
    var last = rows.length - 1;
    var target = null;
    switch (event.key) {
      case "ArrowRight":
        target = row.items[Math.min(at.index + 1, row.items.length - 1)].el;
        break;
      case "ArrowLeft":
        target = row.items[Math.max(at.index - 1, 0)].el;
        break;
      case "ArrowDown":
        target = this.near(Math.min(at.row + 1, last), item);
        break;
      case "ArrowUp":
        target = this.near(Math.max(at.row - 1, 0), item);
        break;
      case "PageDown":
        target = this.near(Math.min(at.row + PAGE, last), item);
        break;
      case "PageUp":
        target = this.near(Math.max(at.row - PAGE, 0), item);
        break;
      case "Home":
        target = event.ctrlKey ? rows[0].items[0].el : row.items[0].el;
        break;
      case "End":
        target = event.ctrlKey
          ? rows[last].items[rows[last].items.length - 1].el
          : row.items[row.items.length - 1].el;
        break;
      default:
        return;
    }
    if (event.ctrlKey && event.key !== "Home" && event.key !== "End") {
      return;
    }
    event.preventDefault();
    this.focus(target);
  };

  // The first item of the row `el` is in, or of the first row after it that has one.
  Grid.prototype.itemFrom = function (el) {
    var tr = el.closest("tr") || el;
    for (var r = 0; r < this.rows.length; r += 1) {
      var other = this.rows[r].tr;
      if (other === tr || tr.compareDocumentPosition(other) & Node.DOCUMENT_POSITION_FOLLOWING) {
        return this.rows[r].items[0].el;
      }
    }
    return null;
  };

  var grids = [];
  form.querySelectorAll("table[data-resa-grid]").forEach(function (table) {
    var grid = new Grid(table);
    if (!grid.rows.length) {
      return;
    }
    grids.push(grid);
    table.setAttribute("role", "grid");
    grid.rows.forEach(function (row) {
      row.items.forEach(function (item) {
        item.el.setAttribute("tabindex", "-1");
      });
    });
    grid.setCurrent(grid.rows[0].items[0].el);
    var help = table.querySelector("[data-resa-help]");
    if (help) {
      help.hidden = false;
    }
    table.addEventListener("keydown", function (event) {
      grid.onKey(event);
    });
    table.addEventListener("focusin", function (event) {
      if (grid.find(event.target)) {
        grid.setCurrent(event.target);
      }
    });
  });

  function gridOf(el) {
    for (var g = 0; g < grids.length; g += 1) {
      if (grids[g].table.contains(el)) {
        return grids[g];
      }
    }
    return null;
  }

  // « Aller à la semaine … », « Aller au mois : »: the focus into the week reached (else the
  // next Tab would leave the agenda, its other items being out of the Tab order).
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest('a[href^="#"]');
    if (!link) {
      return;
    }
    var id = decodeURIComponent(link.getAttribute("href").slice(1));
    var target = id && document.getElementById(id);
    var grid = target && gridOf(target);
    var item = grid && grid.itemFrom(target);
    if (item) {
      // After the browser has scrolled to the anchor.
      window.setTimeout(function () {
        grid.focus(item);
      }, 0);
    }
  });

  // --- After « Tout cocher » or a tool: the focus back, the message read out ---------------

  // The text of a message of several lines (a list of reasons), each line ended for a pause.
  function spoken(element) {
    return element.innerText
      .split("\n")
      .map(function (line) {
        line = line.replace(/[⊘✓]/g, "").replace(/\s+/g, " ").trim();
        return line && !/[.:;,!?]$/.test(line) ? line + " ;" : line;
      })
      .filter(Boolean)
      .join(" ");
  }

  function afterReload() {
    var focusId = form.getAttribute("data-focus");
    var used = focusId && document.getElementById(focusId);
    if (used) {
      var grid = gridOf(used);
      if (grid && grid.find(used)) {
        grid.setCurrent(used);
      }
      used.focus();
    }
    var done = form.querySelector("[data-resa-done]");
    var annonce = document.getElementById("resa-annonce");
    if (done && annonce) {
      // Written once the page has settled, so that screen readers hear the change.
      window.setTimeout(function () {
        annonce.textContent = done.getAttribute("data-resa-done") || spoken(done);
      }, 300);
    }
  }

  // Once the browser has scrolled to the URL's fragment (the week): doing so, it moves the
  // focus to the fragment's target, which would undo an earlier focus().
  if (document.readyState === "complete") {
    window.setTimeout(afterReload, 0);
  } else {
    window.addEventListener("load", function () {
      window.setTimeout(afterReload, 0);
    });
  }
})();
