// Small editors for what Annotorious does not draw (it has no point tool and no text): keypoints on an image and
// labelled spans of a text. Used by the workbench and the review correction; answers in the services' shapes:
// keypoints {objects: [{label, points: [[x, y], ...]}]}, text_span {spans: [{label, start, end}]}.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  function round(v) { return Math.round(v * 10) / 10; }
  function copy(value) { return JSON.parse(JSON.stringify(value || [])); }

  // Keypoints: click on the image to add a point with the current label; drag a point to move it; click a point
  // to select it and press Delete (or Backspace) to remove it. Coordinates are the image's own pixels.
  function keypoints(stage, img, options) {
    var objects = copy(options.objects).filter(function (o) { return o && Array.isArray(o.points); });
    var svg = document.createElementNS(SVG, "svg"), selected = null, dragging = null;
    svg.setAttribute("class", "overlay keypoint-layer");
    svg.setAttribute("data-testid", "keypoint-layer");
    svg.setAttribute("preserveAspectRatio", "none");
    stage.appendChild(svg);
    function size() { return {w: img.naturalWidth || img.width || 1000, h: img.naturalHeight || img.height || 750}; }
    function at(event) {
      var rect = svg.getBoundingClientRect(), s = size();
      return [round((event.clientX - rect.left) / rect.width * s.w), round((event.clientY - rect.top) / rect.height * s.h)];
    }
    function render() {
      var s = size(), r = Math.max(s.w, s.h) / 120;
      svg.setAttribute("viewBox", "0 0 " + s.w + " " + s.h);
      svg.textContent = "";
      objects.forEach(function (obj, i) {
        obj.points.forEach(function (p, j) {
          var c = document.createElementNS(SVG, "circle");
          c.setAttribute("cx", p[0]); c.setAttribute("cy", p[1]); c.setAttribute("r", r);
          c.setAttribute("class", "keypoint" + (selected && selected[0] === i && selected[1] === j ? " selected" : ""));
          c.setAttribute("data-label", obj.label); c.setAttribute("data-object", i); c.setAttribute("data-point", j);
          var title = document.createElementNS(SVG, "title"); title.textContent = obj.label; c.appendChild(title);
          svg.appendChild(c);
        });
      });
      svg.dataset.count = String(objects.reduce(function (n, o) { return n + o.points.length; }, 0));
    }
    svg.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      var t = event.target;
      if (t.classList && t.classList.contains("keypoint")) {
        selected = [Number(t.dataset.object), Number(t.dataset.point)];
        dragging = selected;
        svg.setPointerCapture(event.pointerId);
      } else {
        objects.push({label: options.label(), points: [at(event)]});
        selected = [objects.length - 1, 0];
      }
      render();
    });
    svg.addEventListener("pointermove", function (event) {
      if (!dragging) return;
      objects[dragging[0]].points[dragging[1]] = at(event);
      render();
    });
    svg.addEventListener("pointerup", function () { dragging = null; });
    function onKey(event) {
      if (!selected || (event.key !== "Delete" && event.key !== "Backspace")) return;
      var tag = (event.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea") return;
      event.preventDefault();
      var obj = objects[selected[0]];
      obj.points.splice(selected[1], 1);
      if (!obj.points.length) objects.splice(selected[0], 1);
      selected = null;
      render();
    }
    document.addEventListener("keydown", onKey);
    if (img.complete && img.naturalWidth) render(); else img.addEventListener("load", render);
    render();
    return {
      answer: function () {
        return {objects: objects.filter(function (o) { return o.points.length; }).map(function (o) {
          var out = {label: o.label, points: o.points.map(function (p) { return [round(p[0]), round(p[1])]; })};
          if (o.attributes && Object.keys(o.attributes).length) out.attributes = o.attributes;
          return out;
        })};
      },
      destroy: function () { document.removeEventListener("keydown", onKey); svg.remove(); },
    };
  }

  // Spans: select text with the mouse, then "Add span" labels it; each span is listed with a button to remove it.
  // Offsets count characters of the text, as the services do.
  function spans(container, list, text, options) {
    var items = copy(options.spans).filter(function (s) { return s && s.end > s.start; });
    function offset(node, at) {
      var range = document.createRange();
      range.setStart(container, 0);
      range.setEnd(node, at);
      return range.toString().length;
    }
    function render() {
      var cuts = [0, text.length];
      items.forEach(function (s) { cuts.push(s.start, s.end); });
      cuts = cuts.filter(function (v, i, all) { return all.indexOf(v) === i && v >= 0 && v <= text.length; })
        .sort(function (a, b) { return a - b; });
      container.textContent = "";
      for (var k = 0; k + 1 < cuts.length; k++) {
        var from = cuts[k], to = cuts[k + 1], piece = text.slice(from, to);
        var covering = items.filter(function (s) { return s.start <= from && s.end >= to; });
        if (!covering.length) { container.appendChild(document.createTextNode(piece)); continue; }
        var mark = document.createElement("mark");
        mark.className = "span";
        mark.dataset.label = covering[0].label;
        mark.title = covering.map(function (s) { return s.label; }).join(", ");
        mark.textContent = piece;
        container.appendChild(mark);
      }
      list.textContent = "";
      items.forEach(function (s, i) {
        var li = document.createElement("li"), remove = document.createElement("button");
        li.dataset.label = s.label; li.dataset.start = s.start; li.dataset.end = s.end;
        li.appendChild(document.createTextNode(s.label + ": “" + text.slice(s.start, s.end) + "” (" + s.start + "–" + s.end + ") "));
        remove.type = "button"; remove.textContent = "remove"; remove.className = "danger";
        remove.addEventListener("click", function () { items.splice(i, 1); render(); });
        li.appendChild(remove);
        list.appendChild(li);
      });
    }
    render();
    return {
      // label the current selection; returns an error text when there is nothing to label
      add: function (label) {
        var selection = window.getSelection();
        if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return "select some text first";
        var range = selection.getRangeAt(0);
        if (!container.contains(range.startContainer) || !container.contains(range.endContainer)) {
          return "select text inside the task's text";
        }
        var start = offset(range.startContainer, range.startOffset), end = offset(range.endContainer, range.endOffset);
        if (end <= start) return "select some text first";
        items.push({label: label, start: start, end: end});
        items.sort(function (a, b) { return a.start - b.start || a.end - b.end; });
        selection.removeAllRanges();
        render();
        return "";
      },
      answer: function () {
        return {spans: items.map(function (s) {
          var out = {label: s.label, start: s.start, end: s.end};
          if (s.attributes && Object.keys(s.attributes).length) out.attributes = s.attributes;
          return out;
        })};
      },
    };
  }

  window.AssayEditors = {keypoints: keypoints, spans: spans};
})();
