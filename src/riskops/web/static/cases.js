// Review queue keyboard: j/k move, Enter opens, a claims, f/l/i dispose. On the case page
// a claims and f/l/i pick the disposition and focus its reason.
(function () {
  "use strict";

  function typing(event) {
    var t = event.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }

  var DISPOSE = { f: "fraud_confirmed", l: "legitimate", i: "inconclusive" };

  function pickDisposition(value) {
    var radio = document.querySelector('.dispose input[name="disposition"][value="' + value + '"]');
    if (!radio) return false;
    radio.checked = true;
    var reason = document.querySelector('.dispose input[name="reason"]');
    if (reason) reason.focus();
    return true;
  }

  function queue(table) {
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-case]"));
    var at = -1;
    function select(i) {
      if (!rows.length) return;
      at = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach(function (r, j) { r.classList.toggle("selected", j === at); r.setAttribute("aria-selected", j === at ? "true" : "false"); });
      rows[at].scrollIntoView({ block: "nearest" });
    }
    rows.forEach(function (row, i) {
      row.addEventListener("click", function (event) {
        if (event.target.closest("a, button, form")) return;
        select(i);
        window.location.href = row.dataset.href;
      });
    });
    document.addEventListener("keydown", function (event) {
      if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
      var row = rows[at];
      if (event.key === "j") { select(at + 1); event.preventDefault(); }
      else if (event.key === "k") { select(at - 1); event.preventDefault(); }
      else if (event.key === "Enter" && row) { window.location.href = row.dataset.href; }
      else if (event.key === "a" && row) {
        var claim = row.querySelector("[data-claim]");
        if (claim) claim.click();
      } else if (DISPOSE[event.key] && row) {
        window.location.href = row.dataset.href + "?dispose=" + DISPOSE[event.key] + "#dispose";
      }
    });
    if (rows.length) select(0);
  }

  function casePage() {
    var wanted = new URLSearchParams(window.location.search).get("dispose");
    if (wanted) pickDisposition(wanted);
    document.addEventListener("keydown", function (event) {
      if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === "a") {
        var claim = document.querySelector(".case-actions [data-claim]");
        if (claim) claim.click();
      } else if (DISPOSE[event.key] && pickDisposition(DISPOSE[event.key])) {
        event.preventDefault();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.querySelector("table[data-queue]");
    if (table) queue(table);
    else if (document.querySelector(".case-grid")) casePage();
  });
})();
