// The asset graph: columns are dependency levels, each group a band of rows.
// Data: #graph-data, made by partita.web.views.graph_page. No dependencies.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var holder = document.getElementById("graph");
  var SVG = "http://www.w3.org/2000/svg";
  var COL = 200, ROW = 36, NODE_W = 170, NODE_H = 26, HEAD = 26, PAD = 12, LEFT = 16;
  var collapsed = {};
  var onlyGroup = "";
  var query = "";

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    for (var k in attrs) { node.setAttribute(k, attrs[k]); }
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function shortName(key) {
    return key.length > 24 ? key.slice(0, 22) + "\u2026" : key;
  }

  function draw() {
    holder.textContent = "";
    var width = LEFT * 2 + Math.max(1, data.levels) * COL;
    var svg = el("svg", { "class": "graph", "role": "img", "aria-label": "asset graph" });
    var bands = {}, y = 8;
    data.groups.forEach(function (g) {
      if (onlyGroup && g.name !== onlyGroup) { return; }
      var rows = collapsed[g.name] ? 1 : Math.max(1, g.rows);
      var height = HEAD + rows * ROW + PAD;
      bands[g.name] = { y: y, height: height };
      y += height + 10;
    });
    svg.setAttribute("width", width);
    svg.setAttribute("height", y);
    svg.setAttribute("viewBox", "0 0 " + width + " " + y);
    var bandLayer = el("g", { "class": "bands" }, svg);
    var edgeLayer = el("g", { "class": "edges" }, svg);
    var nodeLayer = el("g", { "class": "nodes" }, svg);
    var where = {};
    var summary = {};
    data.groups.forEach(function (g) {
      var band = bands[g.name];
      if (!band) { return; }
      var box = el("g", { "class": "band", "data-group": g.name }, bandLayer);
      el("rect", { x: 4, y: band.y, width: width - 8, height: band.height, rx: 8 }, box);
      var head = el("text", { x: 14, y: band.y + 18, "class": "band-title" }, box);
      head.textContent = (collapsed[g.name] ? "\u25b8 " : "\u25be ") + g.name;
      head.addEventListener("click", function () {
        collapsed[g.name] = !collapsed[g.name];
        draw();
      });
      if (collapsed[g.name]) {
        summary[g.name] = { x: LEFT, y: band.y + HEAD, counts: {}, n: 0 };
      }
    });
    data.nodes.forEach(function (n) {
      var key = n[0], group = n[1], band = bands[group];
      if (!band) { return; }
      if (collapsed[group]) {
        var s = summary[group];
        s.n += 1;
        s.counts[n[3]] = (s.counts[n[3]] || 0) + 1;
        where[key] = { x: s.x, y: s.y, w: NODE_W * 1.4 };
        return;
      }
      var x = LEFT + n[9] * COL, top = band.y + HEAD + n[10] * ROW;
      where[key] = { x: x, y: top, w: NODE_W };
      var link = el("a", { href: "/asset?key=" + encodeURIComponent(key), "class": "node-link" }, nodeLayer);
      var g = el("g", { "class": "node h-" + n[3], "data-key": key, "data-group": group }, link);
      el("rect", { x: x, y: top, width: NODE_W, height: NODE_H, rx: 5 }, g);
      var label = el("text", { x: x + 8, y: top + 17 }, g);
      label.textContent = shortName(key);
      var total = Math.max(1, n[4]);
      var bx = x + 4, bw = NODE_W - 8, parts = [["fresh", n[5]], ["stale", n[6]], ["missing", n[7]], ["failed", n[8]]];
      parts.forEach(function (p) {
        if (!p[1]) { return; }
        var w = Math.max(1, bw * p[1] / total);
        el("rect", { x: bx, y: top + NODE_H - 4, width: w, height: 3, "class": "bar-" + p[0] }, g);
        bx += w;
      });
      var tip = el("title", {}, g);
      tip.textContent = key + " (" + group + ", " + n[2] + "): " + n[4] + " partitions, " + n[5] + " fresh, " +
        n[6] + " stale, " + n[7] + " missing, " + n[8] + " failed";
    });
    Object.keys(summary).forEach(function (name) {
      var s = summary[name];
      var g = el("g", { "class": "node group-summary", "data-group": name }, nodeLayer);
      el("rect", { x: s.x, y: s.y, width: NODE_W * 1.4, height: NODE_H, rx: 5 }, g);
      var t = el("text", { x: s.x + 8, y: s.y + 17 }, g);
      var words = Object.keys(s.counts).sort().map(function (k) { return s.counts[k] + " " + k; });
      t.textContent = s.n + " assets: " + words.join(", ");
    });
    var drawn = {};
    data.edges.forEach(function (e) {
      var a = where[e[0]], b = where[e[1]];
      if (!a || !b || a === b) { return; }
      var id = a.x + "," + a.y + ">" + b.x + "," + b.y;
      if (drawn[id]) { return; }
      drawn[id] = true;
      var x1 = a.x + a.w, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2;
      if (x2 <= x1) { x2 = b.x + b.w / 2; y2 = b.y; }
      var mid = (x1 + x2) / 2;
      el("path", {
        d: "M" + x1 + "," + y1 + " C" + mid + "," + y1 + " " + mid + "," + y2 + " " + x2 + "," + y2,
        "data-from": e[0], "data-to": e[1]
      }, edgeLayer);
    });
    holder.appendChild(svg);
    highlight();
  }

  function highlight() {
    var q = query.trim().toLowerCase();
    var nodes = holder.querySelectorAll("g.node[data-key]");
    var first = null;
    nodes.forEach(function (g) {
      var hit = q && g.getAttribute("data-key").toLowerCase().indexOf(q) >= 0;
      g.classList.toggle("match", !!hit);
      g.classList.toggle("dim", !!q && !hit);
      if (hit && !first) { first = g; }
    });
    if (first && first.scrollIntoView) {
      first.scrollIntoView({ block: "center", inline: "center" });
    }
  }

  var search = document.getElementById("search");
  search.addEventListener("input", function () { query = search.value; highlight(); });
  search.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") { return; }
    var hit = holder.querySelector("g.node.match");
    if (hit) { window.location = "/asset?key=" + encodeURIComponent(hit.getAttribute("data-key")); }
  });
  var groupFilter = document.getElementById("group-filter");
  function redrawFromTheStart() {
    holder.scrollLeft = 0;
    holder.scrollTop = 0;
    draw();
  }
  groupFilter.addEventListener("change", function () { onlyGroup = groupFilter.value; redrawFromTheStart(); });
  document.getElementById("collapse-all").addEventListener("click", function () {
    data.groups.forEach(function (g) { collapsed[g.name] = true; });
    redrawFromTheStart();
  });
  document.getElementById("expand-all").addEventListener("click", function () {
    collapsed = {};
    redrawFromTheStart();
  });
  draw();
})();
