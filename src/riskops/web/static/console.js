// RiskOps console behaviour: HTMX settings, charts, the live feed and the card-number mask.
(function () {
  "use strict";

  if (window.htmx) {
    // Show the server's inline errors (4xx) instead of silently dropping them.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "[4]..", swap: true, error: false },
      { code: "...", swap: false, error: true },
    ];
  }

  var charts = [];
  var COLORS = { approved: "#14804a", review: "#e8912d", declined: "#c0262d", mean: "#3447c4", max: "#98a2b3" };

  function hhmm(t) {
    var d = new Date(t * 1000);
    return String(d.getUTCHours()).padStart(2, "0") + ":" + String(d.getUTCMinutes()).padStart(2, "0");
  }

  // Legend values: nothing until the pointer is over a bucket (uPlot's default is "--"),
  // "no payments" for an empty bucket of a mean or a maximum.
  function count(u, v) { return v == null ? "" : String(v); }
  function millis(u, v, si, idx) { return idx == null ? "" : v == null ? "no payments" : v.toFixed(2) + " ms"; }

  function series(label, color, fill, value) {
    return { label: label, stroke: color, width: 2, fill: fill ? color + "22" : undefined,
      spanGaps: false, value: value || count,
      // Latency has gaps (no payments, no mean): dots keep a lone busy minute visible.
      points: value ? { show: true, size: 4, fill: color } : undefined };
  }

  // Ticks on round UTC times: every 10 minutes over the last hour, every 3 hours over a day.
  function roundTicks(step) {
    return function (u, axisIdx, min, max) {
      var ticks = [];
      for (var t = Math.ceil(min / step) * step; t <= max; t += step) ticks.push(t);
      return ticks;
    };
  }

  function drawCharts() {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var holder = document.getElementById("charts");
    if (!holder || !window.uPlot) return;
    var data = JSON.parse(holder.querySelector(".timeline-data").textContent);
    var xs = data.map(function (b) { return b.start; });
    var perMinute = holder.dataset.window === "1h";
    var x = { splits: roundTicks(perMinute ? 600 : 3 * 3600),
      values: function (u, ticks) { return ticks.map(hhmm); } };
    var bucket = { label: perMinute ? "minute (UTC)" : "hour (UTC)",
      value: function (u, v) { return v == null ? "" : hhmm(v); } };
    var opts = function (el, s) {
      return {
        width: Math.max(el.clientWidth, 280), height: 220, series: s,
        scales: { x: { time: false } },
        axes: [x, { size: 56 }],
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      };
    };
    var volume = holder.querySelector('[data-chart="volume"]');
    charts.push(new uPlot(opts(volume, [
      bucket,
      series("approved", COLORS.approved, true),
      series("review", COLORS.review, true),
      series("declined", COLORS.declined, true),
    ]), [xs, data.map(function (b) { return b.approved; }), data.map(function (b) { return b.review; }),
      data.map(function (b) { return b.declined; })], volume));
    var latency = holder.querySelector('[data-chart="latency"]');
    charts.push(new uPlot(opts(latency, [
      bucket,
      series("mean", COLORS.mean, true, millis),
      series("max", COLORS.max, false, millis),
    ]), [xs, data.map(function (b) { return b.avg_latency_ms; }), data.map(function (b) { return b.max_latency_ms; })], latency));
  }

  function markWindow() {
    var holder = document.getElementById("charts");
    if (!holder) return;
    document.querySelectorAll(".segmented button[data-window]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.window === holder.dataset.window));
    });
  }

  var FEED_ROWS = 50;
  function startFeed() {
    var body = document.getElementById("feed");
    if (!body || !window.EventSource) return;
    var status = document.getElementById("live-status");
    var source = new EventSource(body.dataset.sse);
    source.onopen = function () { status.textContent = "live"; status.classList.add("on"); };
    source.onerror = function () { status.textContent = "reconnecting…"; status.classList.remove("on"); };
    source.addEventListener("decision", function (event) {
      var empty = body.querySelector(".empty-row");
      if (empty) empty.remove();
      body.insertAdjacentHTML("afterbegin", event.data);
      while (body.rows.length > FEED_ROWS) body.deleteRow(body.rows.length - 1);
    });
  }

  function maskCard() {
    var visible = document.querySelector("[data-mask-card]");
    if (!visible || visible.dataset.masked) return;
    visible.dataset.masked = "1";
    // The real digits travel in a hidden field; the visible one shows all but the last four masked.
    var hidden = document.createElement("input");
    hidden.type = "hidden"; hidden.name = visible.name;
    visible.removeAttribute("name");
    visible.after(hidden);
    var real = "";
    function show(digits) {
      var keep = Math.max(0, digits.length - 4);
      var masked = "•".repeat(keep) + digits.slice(keep);
      return masked.replace(/(.{4})(?=.)/g, "$1 ");
    }
    visible.addEventListener("input", function () {
      var chars = visible.value.replace(/\s/g, "");
      var bullets = (chars.match(/•/g) || []).length;
      real = (real.slice(0, bullets) + chars.replace(/[^0-9]/g, "")).slice(0, 19);
      hidden.value = real;
      visible.value = show(real);
    });
  }

  function amountHint() {
    var amount = document.querySelector("[data-amount]");
    if (!amount) return;
    var hint = document.getElementById("amount-hint");
    var base = hint.textContent;
    amount.addEventListener("input", function () {
      var v = amount.value.trim();
      var currency = (document.querySelector('[name="currency"]').value || "").toUpperCase();
      hint.textContent = /^\d+$/.test(v) ? "= " + (Number(v) / 100).toLocaleString("en", { minimumFractionDigits: 2 }) + " " + currency : base;
    });
  }

  function init() {
    drawCharts(); markWindow(); startFeed(); maskCard(); amountHint();
    var resizeTimer;
    window.addEventListener("resize", function () { clearTimeout(resizeTimer); resizeTimer = setTimeout(drawCharts, 150); });
    document.body.addEventListener("htmx:afterSettle", function (event) {
      if (event.target.id === "charts") { drawCharts(); markWindow(); }
      if (event.target.id === "record-body") {
        var dialog = document.getElementById("record-dialog");
        if (!dialog.open) dialog.showModal();
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
