// The live run page: server-sent events carry the run's events (from the event
// bus, for runs started here) and snapshots of the run read from the catalog.
(function () {
  "use strict";
  var info = JSON.parse(document.getElementById("run-data").textContent);
  var statusEl = document.getElementById("run-status");
  var steps = document.getElementById("steps");
  var events = document.getElementById("events");
  var logs = document.getElementById("logs");
  var bar = document.getElementById("progress");
  var barText = document.getElementById("progress-text");
  var total = 0;

  function pill(word) {
    var span = document.createElement("span");
    span.className = "status " + word;
    span.textContent = word;
    return span;
  }

  function cell(row, text, cls) {
    var td = document.createElement("td");
    if (cls) { td.className = cls; }
    if (text instanceof Node) { td.appendChild(text); } else { td.textContent = text; }
    row.appendChild(td);
  }

  function snapshot(data) {
    statusEl.textContent = "";
    statusEl.appendChild(pill(data.run.status));
    statusEl.setAttribute("data-status", data.run.status);
    steps.textContent = "";
    logs.textContent = "";
    var done = 0;
    data.steps.forEach(function (s) {
      var row = document.createElement("tr");
      cell(row, s.asset);
      cell(row, s.partition || "-", "mono");
      cell(row, String(s.attempt), "num");
      cell(row, pill(s.status));
      steps.appendChild(row);
      if (s.status !== "running" && s.status !== "pending") { done += 1; }
      var head = document.createElement("h3");
      head.className = "mono";
      head.style.fontSize = "13px";
      head.textContent = s.asset + " " + (s.partition || "") + " \u00b7 attempt " + s.attempt;
      var pre = document.createElement("pre");
      pre.className = "logs";
      pre.textContent = s.logs || "(no output)";
      logs.appendChild(head);
      logs.appendChild(pre);
    });
    var of = Math.max(total, data.steps.length);
    if (data.run.status !== "running") { done = of; }
    bar.style.width = (of ? Math.round(100 * done / of) : 100) + "%";
    barText.textContent = done + " of " + of + " steps finished";
  }

  function step(event) {
    if (event.type === "RunStarted") { total = event.tasks; }
    var li = document.createElement("li");
    var where = event.asset ? " " + event.asset + (event.partition ? "[" + event.partition + "]" : "") : "";
    li.textContent = (event.at || "").slice(11, 19) + " " + event.type + where +
      (event.status ? " " + event.status : "") + (event.error ? ": " + event.error : "");
    events.appendChild(li);
  }

  if (!window.EventSource) { return; }
  var source = new EventSource("/api/runs/" + encodeURIComponent(info.run_id) + "/events");
  source.addEventListener("snapshot", function (m) { snapshot(JSON.parse(m.data)); });
  source.addEventListener("step", function (m) { step(JSON.parse(m.data)); });
  source.addEventListener("end", function () { source.close(); });
})();
