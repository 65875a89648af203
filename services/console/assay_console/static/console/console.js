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

  // Correcting an answer on the review page: boxes and polygons with Annotorious (vendored), keypoints and text
  // spans with editors.js; on saving, the edited answer goes back as the corrected answer. Free text and choices
  // are plain form fields: the button only shows them.
  function correction() {
    var start = document.getElementById("start-correction");
    var data = json("answer-objects");
    var img = document.querySelector("img.asset-image");
    if (!start || !data) return;
    var kind = data.answer_type, shapes = kind === "bbox" || kind === "polygon";
    if (shapes && (!img || !window.Annotorious)) return;
    if ((kind === "keypoints" && !img) || ((kind === "keypoints" || kind === "text_span") && !window.AssayEditors)) return;
    var labels = {}, attributes = {}, anno = null, editor = null;
    function newLabel() { var select = document.getElementById("new-label"); return select ? select.value : ""; }
    function bounds(points) {
      var xs = points.map(function (p) { return p[0]; }), ys = points.map(function (p) { return p[1]; });
      return {minX: Math.min.apply(null, xs), minY: Math.min.apply(null, ys),
              maxX: Math.max.apply(null, xs), maxY: Math.max.apply(null, ys)};
    }
    function toAnnotation(obj, i) {
      var id = "shape-" + i, selector;
      labels[id] = obj.label; attributes[id] = obj.attributes || {};
      if (data.answer_type === "bbox") {
        var b = obj.bbox;
        selector = {type: "RECTANGLE", geometry: {x: b[0], y: b[1], w: b[2], h: b[3],
                    bounds: {minX: b[0], minY: b[1], maxX: b[0] + b[2], maxY: b[1] + b[3]}}};
      } else {
        selector = {type: "POLYGON", geometry: {points: obj.points, bounds: bounds(obj.points)}};
      }
      return {id: id, bodies: [], target: {annotation: id, selector: selector}};
    }
    function round(v) { return Math.round(v * 10) / 10; }
    function toObject(a) {
      var g = a.target.selector.geometry, obj = {label: labels[a.id] || document.getElementById("new-label").value};
      if (attributes[a.id] && Object.keys(attributes[a.id]).length) obj.attributes = attributes[a.id];
      if (a.target.selector.type === "RECTANGLE") obj.bbox = [round(g.x), round(g.y), round(g.w), round(g.h)];
      else obj.points = g.points.map(function (p) { return [round(p[0]), round(p[1])]; });
      return obj;
    }
    start.addEventListener("click", function () {
      if (start.hidden) return;
      if (shapes) {
        img.parentNode.classList.add("editing");
        anno = window.Annotorious.createImageAnnotator(img, {drawingEnabled: true});
        anno.setDrawingTool(kind === "bbox" ? "rectangle" : "polygon");
        anno.setAnnotations(data.objects.map(toAnnotation));
        anno.on("createAnnotation", function (a) { labels[a.id] = newLabel(); });
      } else if (kind === "keypoints") {
        img.parentNode.classList.add("editing");
        editor = window.AssayEditors.keypoints(img.parentNode, img, {objects: data.objects, label: newLabel});
      } else if (kind === "text_span") {
        editor = window.AssayEditors.spans(document.getElementById("correct-text"), document.getElementById("correct-spans"),
                                           data.text, {spans: data.spans});
        document.getElementById("correct-add-span").addEventListener("click", function () {
          document.getElementById("correct-span-error").textContent = editor.add(newLabel());
        });
      }
      document.getElementById("correction-tools").hidden = false;
      start.hidden = true;
    });
    start.dataset.ready = "1";
    document.getElementById("correction").addEventListener("submit", function () {
      var answer = anno ? {objects: anno.getAnnotations().map(toObject)} : editor ? editor.answer() : null;
      if (answer) document.getElementById("corrected-answer").value = JSON.stringify(answer);
    });
  }

  function draw(root) { annotatorCharts(root); ocCharts(root); sparklines(root); overlays(root); }

  document.addEventListener("DOMContentLoaded", function () { draw(document); correction(); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = {a: "[data-testid=accept]", r: "[data-testid=reject]", n: "[data-testid=claim]",
                  c: "[data-testid=correct]"}[event.key];
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
