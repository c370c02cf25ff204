// kubetrust access report: pan, zoom, search, the side panel, the findings table.
// Vanilla JavaScript, inlined into the page by kubetrust.report.html; it reads the payload of
// <script id="kt-data"> and the SVG's ids (n1…, e1…: kubetrust.report.ids). Data goes into
// the page through textContent only, never as markup. When the page is interactive it sets
// window.ktReady and <html data-ready="true"> (the browser tests and the benchmark wait on it).
(function () {
  "use strict";

  var SEVERITIES = ["critical", "high", "medium", "low", "info"];
  var MIN_ZOOM = 0.05;
  var MAX_ZOOM = 4;
  var MARGIN = 24;
  var DRAG_THRESHOLD = 4;
  var SHOWN_MATCHES = 50;
  var HOPS = {
    "web-identity": "IRSA web identity: the service account's token, AssumeRoleWithWebIdentity",
    "pod-identity": "EKS Pod Identity: the association's role, through the EKS Auth API",
    "target-role": "Pod Identity targetRoleArn: the association's role assumes the target role",
    "assume-role": "sts:AssumeRole: one role (or user) assumes another",
    "service": "an AWS service (an EC2 instance profile) assumes the role",
    "aws-auth": "aws-auth ConfigMap: the cluster maps the role to a Kubernetes identity",
    "access-entry": "EKS access entry: the cluster maps the role to a Kubernetes identity",
    "grants": "the role's identity policies grant these AWS permissions",
    "imds": "IMDS: the cluster's pods act as the node role",
  };
  var STATUSES = {
    allowed: "allowed",
    conditional: "conditional: allowed only if a condition the inputs cannot settle holds",
    denied: "denied: intended (a policy names it) but fails; the panel has the fix",
  };

  var data = JSON.parse(document.getElementById("kt-data").textContent);
  var canvas = document.getElementById("kt-canvas");
  var svg = canvas.querySelector("svg");
  var viewport = svg.querySelector("#kt-viewport") || svg;
  var panel = document.getElementById("kt-panel");
  var nodes = index(data.nodes);
  var edges = index(data.edges);
  var findings = index(data.findings);
  var size = graphSize();
  var view = { x: 0, y: 0, k: 1 };
  var selected = null;
  var search = { matches: [], current: -1 };

  function index(items) {
    var found = new Map();
    (items || []).forEach(function (item) { found.set(item.id, item); });
    return found;
  }

  function graphSize() {
    var box = (svg.getAttribute("viewBox") || "").trim().split(/[\s,]+/).map(Number);
    if (box.length === 4 && box.every(isFinite)) return { width: box[2], height: box[3] };
    return { width: Number(svg.getAttribute("width")) || 800, height: Number(svg.getAttribute("height")) || 600 };
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function element(id) {
    return id ? svg.querySelector("#" + CSS.escape(id)) : null;
  }

  // ---------------------------------------------------------------- pan and zoom

  function apply() {
    viewport.setAttribute("transform", "translate(" + view.x + " " + view.y + ") scale(" + view.k + ")");
    document.getElementById("kt-zoom-level").textContent = Math.round(view.k * 100) + "%";
  }

  function zoomAt(clientX, clientY, factor) {
    var rect = svg.getBoundingClientRect();
    var k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, view.k * factor));
    var px = clientX - rect.left;
    var py = clientY - rect.top;
    view.x = px - ((px - view.x) * k) / view.k;
    view.y = py - ((py - view.y) * k) / view.k;
    view.k = k;
    apply();
  }

  function zoomCentered(factor) {
    var rect = svg.getBoundingClientRect();
    zoomAt(rect.left + rect.width / 2, rect.top + rect.height / 2, factor);
  }

  function fit() {
    var width = svg.clientWidth;
    var height = svg.clientHeight;
    var k = Math.min((width - 2 * MARGIN) / size.width, (height - 2 * MARGIN) / size.height, 2);
    view.k = Math.max(MIN_ZOOM, k);
    view.x = (width - size.width * view.k) / 2;
    view.y = (height - size.height * view.k) / 2;
    apply();
  }

  // A box in the graph's own units (zoom 1), whatever transforms R1's SVG puts inside.
  function contentBox(target) {
    var r = target.getBoundingClientRect();
    var s = svg.getBoundingClientRect();
    return {
      x: (r.left - s.left - view.x) / view.k,
      y: (r.top - s.top - view.y) / view.k,
      width: r.width / view.k,
      height: r.height / view.k,
    };
  }

  function union(boxes) {
    var x1 = Math.min.apply(null, boxes.map(function (b) { return b.x; }));
    var y1 = Math.min.apply(null, boxes.map(function (b) { return b.y; }));
    var x2 = Math.max.apply(null, boxes.map(function (b) { return b.x + b.width; }));
    var y2 = Math.max.apply(null, boxes.map(function (b) { return b.y + b.height; }));
    return { x: x1, y: y1, width: x2 - x1, height: y2 - y1 };
  }

  function centerOn(targets) {
    var present = targets.filter(Boolean);
    if (!present.length) return;
    var box = union(present.map(contentBox));
    var width = svg.clientWidth;
    var height = svg.clientHeight;
    if (box.width * view.k > width - 2 * MARGIN || box.height * view.k > height - 2 * MARGIN) {
      var k = Math.min((width - 2 * MARGIN) / box.width, (height - 2 * MARGIN) / box.height);
      view.k = Math.min(view.k, Math.max(MIN_ZOOM, k));
    }
    view.x = width / 2 - (box.x + box.width / 2) * view.k;
    view.y = height / 2 - (box.y + box.height / 2) * view.k;
    apply();
  }

  // Zoom 1:1 (labels readable), the first service account in view: near the left edge and
  // centred vertically, unless the whole drawing fits (then it starts at the top).
  function initialView() {
    var first = data.nodes.filter(function (n) { return n.kind === "serviceaccount"; })[0] || data.nodes[0];
    view = { x: MARGIN, y: MARGIN, k: 1 };
    apply();
    var target = first && element(first.id);
    if (!target) return;
    var box = contentBox(target);
    var height = svg.clientHeight;
    view.x = MARGIN - Math.max(0, box.x - MARGIN);
    if (size.height + 2 * MARGIN > height) {
      var y = height / 2 - (box.y + box.height / 2);
      view.y = Math.min(MARGIN, Math.max(height - size.height - MARGIN, y));
    }
    apply();
  }

  function installPanZoom() {
    var drag = null;
    svg.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) return;
      drag = { x: event.clientX, y: event.clientY, vx: view.x, vy: view.y, moved: false, id: event.pointerId };
    });
    svg.addEventListener("pointermove", function (event) {
      if (!drag) return;
      var dx = event.clientX - drag.x;
      var dy = event.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < DRAG_THRESHOLD) return;
      if (!drag.moved) {
        drag.moved = true;
        svg.setPointerCapture(drag.id);
        canvas.classList.add("kt-dragging");
      }
      view.x = drag.vx + dx;
      view.y = drag.vy + dy;
      apply();
    });
    function end() {
      if (drag && drag.moved) {
        canvas.classList.remove("kt-dragging");
        svg.dataset.dragged = "true";
      }
      drag = null;
    }
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", end);
    svg.addEventListener("click", function (event) {
      if (svg.dataset.dragged) { delete svg.dataset.dragged; return; }
      var hit = event.target.closest(".kt-node, .kt-edge");
      if (hit) select(hit.id, false); else clearSelection();
    });
    svg.addEventListener("wheel", function (event) {
      event.preventDefault();
      var delta = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
      zoomAt(event.clientX, event.clientY, Math.exp(-delta * 0.0015));
    }, { passive: false });
    document.getElementById("kt-zoom-in").addEventListener("click", function () { zoomCentered(1.25); });
    document.getElementById("kt-zoom-out").addEventListener("click", function () { zoomCentered(0.8); });
    document.getElementById("kt-zoom-reset").addEventListener("click", function () { zoomCentered(1 / view.k); });
    document.getElementById("kt-fit").addEventListener("click", fit);
    window.addEventListener("beforeprint", fit);
  }

  // ---------------------------------------------------------------- selection and panel

  function clearMarks(name) {
    svg.querySelectorAll("." + name).forEach(function (found) { found.classList.remove(name); });
  }

  function clearSelection() {
    selected = null;
    clearMarks("kt-selected");
    clearMarks("kt-adjacent");
    clearMarks("kt-flagged");
    document.querySelectorAll("#kt-findings tr.kt-current").forEach(function (row) { row.classList.remove("kt-current"); });
    panel.replaceChildren(el("p", { class: "kt-empty" }, "Click a node or an edge to see its explanation, the fix and the command that reproduces it."));
  }

  function select(id, center) {
    var item = nodes.get(id) || edges.get(id);
    if (!item) return;
    clearMarks("kt-selected");
    clearMarks("kt-adjacent");
    selected = id;
    var target = element(id);
    if (target) target.classList.add("kt-selected");
    related(id).forEach(function (other) {
      var found = element(other);
      if (found) found.classList.add("kt-adjacent");
    });
    panel.replaceChildren.apply(panel, nodes.has(id) ? nodePanel(item) : edgePanel(item));
    panel.scrollTop = 0;
    if (center) centerOn([target]);
  }

  function related(id) {
    if (edges.has(id)) return [edges.get(id).source, edges.get(id).target];
    return data.edges.filter(function (e) { return e.source === id || e.target === id; }).map(function (e) { return e.id; });
  }

  function title(id) {
    var item = nodes.get(id);
    if (item) return item.title;
    var edge = edges.get(id);
    return edge ? title(edge.source) + " \u2192 " + title(edge.target) + " (" + edge.hop + ")" : id;
  }

  function jump(id, text) {
    var button = el("button", { type: "button", class: "kt-link", "data-element": id }, text || title(id));
    button.addEventListener("click", function () { select(id, true); });
    return button;
  }

  function badge(kind, value) {
    return el("span", { class: "kt-badge " + kind + "-" + value }, value);
  }

  function block(heading, text, kind) {
    var pre = el("pre", { class: kind }, text);
    var parts = [el("h3", {}, heading)];
    if (kind === "kt-command" && navigator.clipboard) {
      var copy = el("button", { type: "button", class: "kt-copy" }, "copy");
      copy.addEventListener("click", function () {
        navigator.clipboard.writeText(text).then(function () { copy.textContent = "copied"; }, function () { copy.textContent = "select and copy"; });
      });
      parts[0].appendChild(copy);
    }
    parts.push(pre);
    return parts;
  }

  function nodePanel(node) {
    var parts = [el("h2", { class: "kt-panel-title" }, node.title)];
    var meta = el("p", { class: "kt-meta" }, node.kind + " \u00b7 " + (data.groups[node.group] || node.group));
    parts.push(meta);
    if (node.lines && node.lines.length) parts.push(el("pre", { class: "kt-lines" }, node.lines.join("\n")));
    parts = parts.concat(block("Explanation", node.explanation || "", "kt-explanation"));
    if (node.command) parts = parts.concat(block("Reproduce", node.command, "kt-command"));
    var links = related(node.id);
    if (links.length) {
      parts.push(el("h3", {}, "Edges (" + links.length + ")"));
      var list = el("ul", { class: "kt-related" });
      links.forEach(function (id) {
        var item = el("li");
        item.append(badge("status", edges.get(id).status), " ", jump(id));
        list.appendChild(item);
      });
      parts.push(list);
    }
    return parts.concat(findingsOf(node.id));
  }

  function edgePanel(edge) {
    var heading = el("h2", { class: "kt-panel-title" });
    heading.append(jump(edge.source), " \u2192 ", jump(edge.target));
    var meta = el("p", { class: "kt-meta" });
    meta.append(badge("status", edge.status), " " + edge.hop + (edge.note ? ": " + edge.note : ""));
    var parts = [heading, meta];
    if (edge.fix) parts = parts.concat(block("Fix", edge.fix, "kt-fix"));
    parts = parts.concat(block("Explanation", edge.explanation || "", "kt-explanation"));
    if (edge.command) parts = parts.concat(block("Reproduce", edge.command, "kt-command"));
    return parts.concat(findingsOf(edge.id));
  }

  function findingsOf(id) {
    var found = (data.findings || []).filter(function (f) { return (f.elements || []).indexOf(id) >= 0; });
    if (!found.length) return [];
    var list = el("ul", { class: "kt-panel-findings" });
    found.forEach(function (finding) {
      var item = el("li");
      var open = el("button", { type: "button", class: "kt-link" }, finding.rule);
      open.addEventListener("click", function () { focusFinding(finding.id); });
      item.append(badge("severity", finding.severity), " ", open, ": " + finding.message);
      list.appendChild(item);
    });
    return [el("h3", {}, "Findings (" + found.length + ")"), list];
  }

  // ---------------------------------------------------------------- findings table

  function focusFinding(id) {
    var finding = findings.get(id);
    if (!finding) return;
    var targets = (finding.elements || []).map(element).filter(Boolean);
    if (targets.length) select(targets[0].id, false);
    clearMarks("kt-flagged");
    targets.forEach(function (target) { target.classList.add("kt-flagged"); });
    document.querySelectorAll("#kt-findings tr").forEach(function (row) {
      row.classList.toggle("kt-current", row.dataset.finding === id);
    });
    centerOn(targets);
    canvas.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  function installFindings() {
    var table = document.getElementById("kt-findings");
    if (!table) return;
    var body = table.tBodies[0];
    table.querySelectorAll("th[data-sort]").forEach(function (th) {
      th.querySelector("button").addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("th[data-sort]").forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        sortRows(body, th.dataset.sort, ascending);
      });
    });
    body.addEventListener("click", function (event) {
      var link = event.target.closest("button[data-element]");
      if (link) { select(link.dataset.element, true); return; }
      var row = event.target.closest("tr[data-finding]");
      if (row) focusFinding(row.dataset.finding);
    });
  }

  // Severity "descending" is worst first (the default order); other columns sort as text,
  // severity then the original order breaking ties.
  function sortRows(body, column, ascending) {
    var rows = Array.prototype.slice.call(body.rows);
    function key(row) { return column === "severity" ? -Number(row.dataset.rank) : row.dataset[column] || ""; }
    rows.sort(function (a, b) {
      var ka = key(a);
      var kb = key(b);
      var order = ka < kb ? -1 : ka > kb ? 1 : 0;
      if (!ascending) order = -order;
      return order || Number(a.dataset.rank) - Number(b.dataset.rank) || Number(a.dataset.order) - Number(b.dataset.order);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  // ---------------------------------------------------------------- search

  function runSearch(text) {
    var query = text.trim().toLowerCase();
    clearMarks("kt-match");
    search = { matches: [], current: -1 };
    if (query) {
      search.matches = data.nodes.filter(function (node) {
        return [node.title, node.key].concat(node.lines || []).some(function (value) {
          return String(value).toLowerCase().indexOf(query) >= 0;
        });
      }).map(function (node) { return node.id; });
      search.matches.forEach(function (id) { var found = element(id); if (found) found.classList.add("kt-match"); });
    }
    showMatches(query);
  }

  function showMatches(query) {
    var list = document.getElementById("kt-search-results");
    var count = document.getElementById("kt-search-count");
    count.textContent = query ? search.matches.length + (search.matches.length === 1 ? " match" : " matches") : "";
    list.replaceChildren();
    list.hidden = !query || !search.matches.length;
    search.matches.slice(0, SHOWN_MATCHES).forEach(function (id, position) {
      var item = el("li", { "data-node": id });
      if (position === search.current) item.classList.add("kt-current");
      var button = el("button", { type: "button" }, nodes.get(id).title);
      button.addEventListener("click", function () { search.current = position; select(id, true); showMatches(query); });
      item.appendChild(button);
      list.appendChild(item);
    });
    if (search.matches.length > SHOWN_MATCHES) {
      list.appendChild(el("li", { class: "kt-meta" }, "\u2026 and " + (search.matches.length - SHOWN_MATCHES) + " more (Enter steps through all)"));
    }
  }

  function nextMatch(query) {
    if (!search.matches.length) return;
    search.current = (search.current + 1) % search.matches.length;
    select(search.matches[search.current], true);
    showMatches(query);
  }

  function installSearch() {
    var input = document.getElementById("kt-search");
    input.addEventListener("input", function () { runSearch(input.value); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); nextMatch(input.value.trim().toLowerCase()); }
      if (event.key === "Escape") { input.value = ""; runSearch(""); }
    });
  }

  // ---------------------------------------------------------------- the rest

  function installLinks() {
    document.querySelectorAll(".kt-verdict[data-node]").forEach(function (button) {
      button.addEventListener("click", function () {
        select(button.dataset.node, true);
        canvas.scrollIntoView({ block: "nearest", behavior: "smooth" });
      });
    });
    document.addEventListener("keydown", function (event) {
      if (event.target.closest && event.target.closest("input")) return;
      if (event.key === "Escape") clearSelection();
      else if (event.key === "+" || event.key === "=") zoomCentered(1.25);
      else if (event.key === "-") zoomCentered(0.8);
      else if (event.key === "0") fit();
      else if (event.key === "1") zoomCentered(1 / view.k);
    });
  }

  // The legend draws each hop and status the graph has with the very attributes of one of
  // its edges (the SVG's own styles: nothing to keep in step), and a description.
  function buildLegend() {
    var list = document.querySelector("#kt-legend ul");
    var examples = {};
    svg.querySelectorAll("g.kt-edge").forEach(function (edge) {
      var hop = classValue(edge, "hop-");
      var status = classValue(edge, "status-");
      var current = examples["hop:" + hop];
      if (hop && (!current || (status === "allowed" && classValue(current, "status-") !== "allowed"))) {
        examples["hop:" + hop] = edge;
      }
      if (status && status !== "allowed" && !examples["status:" + status]) examples["status:" + status] = edge;
    });
    Object.keys(HOPS).forEach(function (hop) {
      if (examples["hop:" + hop]) list.appendChild(legendRow(examples["hop:" + hop], hop, HOPS[hop]));
    });
    Object.keys(STATUSES).forEach(function (status) {
      if (examples["status:" + status]) list.appendChild(legendRow(examples["status:" + status], status, STATUSES[status]));
    });
    if (!list.children.length) list.appendChild(el("li", {}, "The graph has no edges."));
  }

  function classValue(target, prefix) {
    var found = Array.prototype.filter.call(target.classList, function (name) { return name.indexOf(prefix) === 0; })[0];
    return found ? found.slice(prefix.length) : "";
  }

  function legendRow(edge, name, text) {
    var ns = "http://www.w3.org/2000/svg";
    var line = edge.querySelector(".kt-edge-line");
    var sample = document.createElementNS(ns, "svg");
    sample.setAttribute("width", "56");
    sample.setAttribute("height", "14");
    sample.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M2 7 H46");
    ["stroke", "stroke-width", "stroke-dasharray", "marker-end", "fill", "opacity"].forEach(function (attr) {
      var value = line && line.getAttribute(attr);
      if (value) path.setAttribute(attr, value);
    });
    if (!path.getAttribute("fill")) path.setAttribute("fill", "none");
    sample.appendChild(path);
    var item = el("li", { "data-legend": name });
    item.append(sample, el("span", {}, text));
    return item;
  }

  function init() {
    canvas.classList.add("kt-interactive");
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.removeAttribute("viewBox");
    installPanZoom();
    installSearch();
    installFindings();
    installLinks();
    buildLegend();
    initialView();
    window.ktReady = true;
    document.documentElement.dataset.ready = "true";
  }

  init();
})();
