// The console's only script (CSP: script-src 'self'): charts from json_script data, the review overlay's
// size, keyboard shortcuts. Pages work without it except for the charts.
(function () {
  "use strict";

  function json(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function annotatorCharts(root) {
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var data = json(canvas.dataset.chart);
      if (!data || !window.Chart) return;
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, {
        type: canvas.dataset.kind || "line",
        data: {labels: data.labels, datasets: [{label: canvas.dataset.label, data: data[canvas.dataset.series],
                                                spanGaps: true, borderColor: "#2563eb", backgroundColor: "#93c5fd"}]},
        options: {animation: false, responsive: true, maintainAspectRatio: false},
      });
    });
  }

  function ocCharts(root) {
    root.querySelectorAll("canvas[data-oc]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var curve = json(canvas.dataset.oc);
      if (!curve || !window.Chart) return;
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, {
        type: "line",
        data: {labels: curve.map(function (pt) { return (100 * pt.p).toFixed(1) + "%"; }),
               datasets: [{label: "probability of accepting the batch", data: curve.map(function (pt) { return pt.accept; }),
                           borderColor: "#16a34a", pointRadius: 0}]},
        options: {animation: false, responsive: true, maintainAspectRatio: false,
                  scales: {x: {title: {display: true, text: "defect rate of the batch"}}, y: {min: 0, max: 1}}},
      });
    });
  }

  function sparklines(root) {
    root.querySelectorAll("canvas.sparkline").forEach(function (canvas) {
      if (canvas.dataset.drawn || !window.Chart) return;
      canvas.dataset.drawn = "1";
      var values = canvas.dataset.values.split(",").map(function (v) { return v === "" ? null : Number(v); });
      new window.Chart(canvas, {
        type: "line",
        data: {labels: values.map(function (_, i) { return i; }),
               datasets: [{data: values, borderColor: "#2563eb", borderWidth: 1.5, pointRadius: 0, spanGaps: true}]},
        options: {animation: false, responsive: false, events: [], plugins: {legend: {display: false}, tooltip: {enabled: false}},
                  scales: {x: {display: false}, y: {display: false, min: 0, max: 1}}},
      });
    });
  }

  function overlays(root) {
    root.querySelectorAll("img.asset-image").forEach(function (img) {
      function fit() {
        var svg = img.parentNode.querySelector("svg.overlay");
        if (svg && img.naturalWidth) svg.setAttribute("viewBox", "0 0 " + img.naturalWidth + " " + img.naturalHeight);
      }
      if (img.complete) fit(); else img.addEventListener("load", fit);
    });
  }

  function draw(root) { annotatorCharts(root); ocCharts(root); sparklines(root); overlays(root); }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = {a: "[data-testid=accept]", r: "[data-testid=reject]", n: "[data-testid=claim]"}[event.key];
    var button = target && document.querySelector(target);
    if (!button) return;
    if (event.key === "r") {
      var comment = document.querySelector("#decision textarea[name=comment]");
      if (comment && !comment.value.trim()) { event.preventDefault(); comment.focus(); return; }
    }
    event.preventDefault();
    button.click();
  });
})();
