/* Kaiku dashboard: charts (Chart.js, vendored), auto-applying filters, sortable tables.
 * No inline scripts: chart numbers arrive in <script type="application/json" id="dashboard-data">.
 * Every chart has a table of the same numbers next to it, so nothing depends on this file. */
(function () {
  "use strict";

  function readData() {
    var node = document.getElementById("dashboard-data");
    return node ? JSON.parse(node.textContent) : null;
  }

  var BLUE = "#2454d6", BAND = "rgba(36, 84, 214, 0.15)", GREY = "#9aa3ad";
  var GROUP_COLOURS = { low: "#e0796e", mid: "#c9ced6", high: "#3fa36b" };

  function trendChart(data) {
    var canvas = document.getElementById("trend-chart");
    if (!canvas || !data.trend.length) return;
    var labels = data.trend.map(function (p) { return p.label; });
    var point = function (p) { return p.value; };
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: labels,
        datasets: [
          { label: data.text.ci, data: data.trend.map(function (p) { return p.hi; }),
            borderWidth: 0, pointRadius: 0, fill: "+1", backgroundColor: BAND },
          { label: data.text.ci, data: data.trend.map(function (p) { return p.lo; }),
            borderWidth: 0, pointRadius: 0, fill: false },
          { label: data.text.value, data: data.trend.map(point), borderColor: BLUE,
            backgroundColor: BLUE, tension: 0.2,
            pointRadius: data.trend.map(function (p) { return p.significant ? 6 : 3; }),
            pointStyle: data.trend.map(function (p) { return p.significant ? "rectRot" : "circle"; }),
            pointBackgroundColor: data.trend.map(function (p) { return p.lowBase ? GREY : BLUE; }),
            pointBorderColor: data.trend.map(function (p) { return p.lowBase ? GREY : BLUE; }) }
        ]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: data.range ? { suggestedMin: data.range[0] === -100 ? undefined : 0 } : {} },
        plugins: {
          legend: { display: false },
          tooltip: {
            filter: function (item) { return item.datasetIndex === 2; },
            callbacks: {
              afterLabel: function (item) {
                var p = data.trend[item.dataIndex];
                var lines = [data.text.ci + ": [" + p.lo + ", " + p.hi + "]", data.text.n + ": " + p.n];
                if (p.lowBase) lines.push(data.text.lowBase);
                if (p.significant) lines.push(data.text.significant);
                return lines;
              }
            }
          }
        }
      }
    });
  }

  function distributionChart(data) {
    var canvas = document.getElementById("distribution-chart");
    if (!canvas || !data.distribution.length) return;
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.distribution.map(function (b) { return String(b.score); }),
        datasets: [{ label: data.text.answers, data: data.distribution.map(function (b) { return b.count; }),
          backgroundColor: data.distribution.map(function (b) { return GROUP_COLOURS[b.group]; }) }]
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: false } } }
    });
  }

  /* Filters apply as soon as a menu or date changes; the URL keeps them (shareable). */
  function autoSubmit() {
    document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      form.addEventListener("change", function (event) {
        if (event.target.matches("select, input[type=date]")) form.requestSubmit();
      });
    });
  }

  /* Click a column heading marked data-sort to sort the table by it. */
  function sortableTables() {
    document.querySelectorAll("table.sortable").forEach(function (table) {
      table.querySelectorAll("th[data-sort]").forEach(function (th, _i) {
        var index = Array.prototype.indexOf.call(th.parentNode.children, th);
        var button = document.createElement("button");
        button.type = "button";
        button.className = "sort";
        button.textContent = th.textContent;
        th.textContent = "";
        th.appendChild(button);
        th.setAttribute("aria-sort", "none");
        button.addEventListener("click", function () {
          var ascending = th.getAttribute("aria-sort") !== "ascending";
          table.querySelectorAll("th[data-sort]").forEach(function (other) { other.setAttribute("aria-sort", "none"); });
          th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
          var body = table.tBodies[0];
          var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return !r.classList.contains("overall"); });
          rows.sort(function (a, b) {
            var x = cellValue(a.children[index], th.dataset.sort), y = cellValue(b.children[index], th.dataset.sort);
            if (x === y) return 0;
            if (x === null) return 1;
            if (y === null) return -1;
            return (x < y ? -1 : 1) * (ascending ? 1 : -1);
          });
          rows.forEach(function (r) { body.appendChild(r); });
        });
      });
    });
  }

  function cellValue(cell, kind) {
    var raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
    if (kind === "num") {
      var n = parseFloat(raw);
      return isNaN(n) ? null : n;
    }
    return raw.toLowerCase();
  }

  document.addEventListener("DOMContentLoaded", function () {
    autoSubmit();
    sortableTables();
    var data = readData();
    if (data && window.Chart) {
      trendChart(data);
      distributionChart(data);
    }
  });
})();
