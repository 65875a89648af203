// The annotator workbench (reference front end): tasks pushed over the console's /ws/work relay, answered with
// choice buttons, boxes/polygons drawn in Annotorious, keypoints and text spans (editors.js) or free text; the
// lease kept by heartbeats, feedback as it arrives.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("workbench");
    if (!root) return;
    var schemas = JSON.parse(document.getElementById("work-schema").textContent);
    var status = document.getElementById("work-status"), box = document.getElementById("work-task");
    var img = document.getElementById("work-image"), choices = document.getElementById("work-choices");
    var socket, task = null, started = 0, anno = null, heartbeat = null, chosen = [], editor = null;
    var freeText = document.getElementById("work-free-text"), spanList = document.getElementById("work-spans");

    function say(text, kind) { status.textContent = text; status.className = "banner " + (kind || ""); }
    function send(message) { socket.send(JSON.stringify(message)); }
    function schema() { return schemas[String(task.schema_version)] || {answer_type: "single_choice", labels: []}; }
    function labels() { return (schema().labels || []).map(function (l) { return l.name; }); }

    function clear() {
      if (anno) { anno.destroy(); anno = null; }
      if (editor && editor.destroy) editor.destroy();
      editor = null; spanList.textContent = ""; freeText.value = "";
      ["work-label-row", "work-span-row", "work-free-text-row"].forEach(function (id) { document.getElementById(id).hidden = true; });
      if (heartbeat) { clearInterval(heartbeat); heartbeat = null; }
      choices.textContent = ""; chosen = []; task = null; box.hidden = true;
    }

    function show(next) {
      clear();
      task = next; started = Date.now();
      var kind = schema().answer_type, data = task.data || {}, meta = data.metadata || {};
      document.getElementById("task-meta").textContent = kind + " · task " + task.task_id;
      var text = document.getElementById("work-text");
      text.hidden = typeof meta.text !== "string";
      text.textContent = meta.text || "";
      box.hidden = false;
      var select = document.getElementById("work-label");
      select.textContent = "";
      labels().forEach(function (name) { var o = document.createElement("option"); o.textContent = name; select.appendChild(o); });
      document.getElementById("work-label-what").textContent = {polygon: "polygons", keypoints: "points", text_span: "spans"}[kind] || "boxes";
      if (kind === "keypoints") {
        document.getElementById("work-label-row").hidden = false;
        img.onload = function () {
          img.onload = null;
          editor = window.AssayEditors.keypoints(document.getElementById("work-stage"), img,
                                                 {objects: [], label: function () { return select.value; }});
          root.dataset.ready = "1";
        };
        img.src = data.url || "";
      } else if (kind === "text_span") {
        img.removeAttribute("src");
        document.getElementById("work-label-row").hidden = false;
        document.getElementById("work-span-row").hidden = false;
        text.hidden = false;
        editor = window.AssayEditors.spans(text, spanList, typeof meta.text === "string" ? meta.text : "", {spans: []});
        root.dataset.ready = "1";
      } else if (kind === "free_text") {
        img.removeAttribute("src");
        document.getElementById("work-free-text-row").hidden = false;
        root.dataset.ready = "1";
      } else if (kind === "bbox" || kind === "polygon") {
        document.getElementById("work-label-row").hidden = false;
        img.onload = function () {
          anno = window.Annotorious.createImageAnnotator(img, {drawingEnabled: true});
          anno.setDrawingTool(kind === "bbox" ? "rectangle" : "polygon");
          anno.on("createAnnotation", function (a) { a.label = select.value; names[a.id] = select.value; });
          root.dataset.ready = "1";
        };
        img.src = data.url || "";
      } else {
        img.removeAttribute("src");
        labels().forEach(function (name) {
          var b = document.createElement("button");
          b.type = "button"; b.textContent = name; b.dataset.label = name; b.className = "choice";
          b.addEventListener("click", function () {
            if (kind === "multi_choice") {
              var at = chosen.indexOf(name);
              if (at >= 0) chosen.splice(at, 1); else chosen.push(name);
              b.classList.toggle("chosen");
            } else {
              chosen = [name]; submit();
            }
          });
          choices.appendChild(b);
        });
        root.dataset.ready = "1";
      }
      var ttl = Date.parse(task.lease_expires_at) - Date.now();
      heartbeat = setInterval(function () { if (task) send({type: "heartbeat", task_id: task.task_id}); },
                              Math.max(2000, (isFinite(ttl) ? ttl : 60000) / 3));
      say("your task is here", "ok");
    }
    var names = {};

    function answer() {
      var kind = schema().answer_type;
      if (kind === "bbox" || kind === "polygon") {
        return {objects: (anno ? anno.getAnnotations() : []).map(function (a) {
          var g = a.target.selector.geometry, label = names[a.id] || document.getElementById("work-label").value;
          if (a.target.selector.type === "RECTANGLE") {
            return {label: label, bbox: [g.x, g.y, g.w, g.h].map(function (v) { return Math.round(v * 10) / 10; })};
          }
          return {label: label, points: g.points.map(function (p) { return [Math.round(p[0] * 10) / 10, Math.round(p[1] * 10) / 10]; })};
        })};
      }
      if (kind === "keypoints" || kind === "text_span") return editor ? editor.answer() : {};
      if (kind === "free_text") return {text: freeText.value};
      if (kind === "multi_choice") return {labels: chosen.slice()};
      return {label: chosen[0]};
    }

    function submit() {
      if (!task) return;
      send({type: "submit", task_id: task.task_id, answer: answer(), duration_ms: Date.now() - started});
    }

    function feedback(item) {
      var li = document.createElement("li");
      li.textContent = JSON.stringify(item);
      document.getElementById("work-feedback").appendChild(li);
    }

    function connect() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + location.host + "/ws/work?project=" + encodeURIComponent(root.dataset.project));
      socket.addEventListener("message", function (event) {
        var m = JSON.parse(event.data);
        if (m.type === "task") show(m.task);
        else if (m.type === "waiting") { clear(); say("waiting: your next task appears here the moment there is one"); }
        else if (m.type === "submitted") { say("answer recorded", "ok"); root.dataset.submitted = String((Number(root.dataset.submitted) || 0) + 1); }
        else if (m.type === "feedback") feedback(m.feedback);
        else if (m.type === "busy") say(m.message || "the queue is busy; retrying", "error");
        else if (m.type === "error") say((m.error && m.error.message) || "refused", "error");
      });
      socket.addEventListener("close", function (event) {
        say(event.code === 4403 ? "your roles do not allow work in this project" : "disconnected (" + event.code + ")", "error");
      });
    }

    document.getElementById("work-submit").addEventListener("click", submit);
    document.getElementById("work-add-span").addEventListener("click", function () {
      if (editor && editor.add) {
        document.getElementById("work-span-error").textContent = editor.add(document.getElementById("work-label").value);
      }
    });
    document.getElementById("work-skip").addEventListener("click", function () { if (task) send({type: "skip", task_id: task.task_id}); });
    document.addEventListener("keydown", function (event) {
      var tag = (event.target.tagName || "").toLowerCase();
      if (event.key === "s" && tag !== "input" && tag !== "textarea" && tag !== "select") { event.preventDefault(); submit(); }
    });
    connect();
  });
})();
