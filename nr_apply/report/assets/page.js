/* nr-apply report page: reads the report's JSON (#report-data) and draws it with the vendored
   ECharts (timeline, KPI and findings charts) and Cytoscape.js (fabric map). Every text from the
   report goes into the page as text, never as markup. `window.nrReport` exposes the data, the
   map and the charts (the browser tests read them). */
(function () {
  "use strict";
  performance.mark("nr-parse");
  var D = JSON.parse(document.getElementById("report-data").textContent);
  performance.measure("nr-parse", "nr-parse");
  var STATUS_COLOURS = {
    unchanged: "#9aa4ae", changed: "#e3a008", applied: "#2da44e", rolled_back: "#8250df", failed: "#cf222e",
    skipped: "#d0d7de", not_verified: "#0969da", not_targeted: "#ffffff",
    error: "#cf222e", warning: "#e3a008", ok: "#2da44e"
  };
  var STATUS_LABELS = {
    unchanged: "unchanged", changed: "changed", applied: "applied", rolled_back: "rolled back", failed: "failed",
    skipped: "skipped", not_verified: "not verified", not_targeted: "not targeted",
    error: "error finding", warning: "warning finding", ok: "no finding"
  };
  // The worst status of a collapsed group of hosts colours the group.
  var SEVERITY = ["failed", "error", "rolled_back", "warning", "skipped", "not_verified", "changed", "applied",
                  "unchanged", "ok", "not_targeted"];
  var STEP_COLOURS = {
    "pre-flight": "#8c959f", push: "#0969da", verify: "#54aeff", soak: "#a5d6ff", gates: "#1a7f37",
    confirm: "#2da44e", rollback: "#8250df"
  };
  var KPI_TITLES = {
    pause_rate: "PFC pause rate", ecn_marks: "ECN marks", lossless_drops: "Lossless drops", cnps: "CNPs (hosts)",
    watchdog_events: "PFC watchdog events"
  };
  var charts = [];

  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") el.textContent = attrs[k];
        else if (k === "cls") el.className = attrs[k];
        else el.setAttribute(k, attrs[k]);
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return el;
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
  function swatch(status) {
    var s = h("span", {cls: "swatch"});
    s.style.background = STATUS_COLOURS[status] || "#fff";
    return s;
  }
  function when(t) { return t ? new Date(t * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : "–"; }
  function secs(s) { return s < 10 ? s.toFixed(2) + " s" : s < 600 ? s.toFixed(1) + " s" : (s / 60).toFixed(1) + " min"; }
  function chart(el) {
    var c = echarts.init(el, null, {renderer: "canvas"});
    charts.push(c);
    return c;
  }

  // --- summary ---------------------------------------------------------------------------
  var VERDICTS = {0: ["nothing pending", "ok"], 1: ["failed", "fail"], 2: ["changes pending", "pending"],
                  3: ["invalid input", "fail"], 4: ["fabric locked", "fail"]};
  function summary() {
    var v = D.kind === "validation" ? (D.valid ? ["valid", "ok"] : ["invalid", "fail"]) : VERDICTS[D.exit_code];
    var badge = document.getElementById("verdict");
    badge.textContent = v[0] + " (exit " + D.exit_code + ")";
    badge.className = "badge " + v[1];
    var facts = [["plan", D.plan], ["plan file", D.plan_file]];
    if (D.kind === "run") {
      facts.push(["mode", D.mode], ["fabric", D.fabric || "–"], ["run id", D.run_id || "– (no rollout)"],
                 ["plan sha256", D.plan_digest ? D.plan_digest.slice(0, 16) + "…" : "–"],
                 ["run by", D.operator || "–"], ["started", when(D.started_at)], ["finished", when(D.finished_at)],
                 ["took", D.started_at && D.finished_at ? secs(D.finished_at - D.started_at) : "–"]);
    } else {
      facts.push(["run by", D.operator || "–"], ["written", when(D.finished_at)], ["nodes", String(D.node_count)],
                 ["lossless ports sized", String(D.headroom_ports)]);
    }
    facts.push(["exit code", String(D.exit_code)]);
    var dl = document.getElementById("summary-facts");
    facts.forEach(function (f) { dl.appendChild(h("dt", {text: f[0]})); dl.appendChild(h("dd", {text: f[1]})); });
    var counts = document.getElementById("summary-counts");
    if (D.kind === "run") {
      Object.keys(D.summary).forEach(function (k) {
        counts.appendChild(h("div", {cls: "count", "data-status": k}, h("b", {text: String(D.summary[k])}),
                             swatch(k), STATUS_LABELS[k]));
      });
      var failedGates = D.gates.filter(function (g) { return !g.passed; }).length;
      counts.appendChild(h("div", {cls: "count"}, h("b", {text: D.gates.length + " / " + failedGates}),
                           "gates / failed"));
    }
    var errors = D.findings.filter(function (f) { return f.severity === "error"; }).length;
    counts.appendChild(h("div", {cls: "count"}, h("b", {text: errors + " / " + (D.findings.length - errors)}),
                         "finding groups: errors / warnings"));
    document.getElementById("summary-message").textContent = D.message || "";
    var ul = document.getElementById("input-errors");
    D.input_errors.forEach(function (e) {
      ul.appendChild(h("li", {text: [e.file, e.line, e.field].filter(Boolean).join(":") + ": " + e.message}));
    });
  }

  // --- timeline --------------------------------------------------------------------------
  function batchLabel(b) { return b.phase + " · batch " + b.batch; }
  function timeline() {
    var note = document.getElementById("timeline-note");
    var el = document.getElementById("timeline-chart");
    var batches = D.batches || [];
    var ran = batches.filter(function (b) { return b.steps.length; });
    if (!batches.length) {
      note.textContent = D.kind === "validation" ? "A validation touches no device: nothing was rolled out."
        : "Nothing was rolled out" + (D.mode === "dry-run" ? " (dry-run)." : ".");
      el.style.display = "none";
      return;
    }
    var table = document.getElementById("batch-table");
    table.appendChild(h("tr", null, h("th", {text: "phase"}), h("th", {text: "batch"}), h("th", {text: "status"}),
                        h("th", {text: "nodes"}), h("th", {text: "took"}), h("th", {text: "what failed"})));
    batches.forEach(function (b) {
      var took = b.steps.length ? secs(b.steps[b.steps.length - 1].end - b.steps[0].start) : "–";
      var why = null;
      if (b.status !== "confirmed" && b.status !== "planned" && b.status !== "rolled_back") {
        // The batch's gates: on its nodes and on their link peers (a leaf's change that makes its
        // spine storm fails the leaf's batch).
        var watched = {};
        b.nodes.forEach(function (n) { watched[n] = true; });
        D.topology.links.forEach(function (l) {
          if (watched[l.a] === true || watched[l.b] === true) { watched[l.a] = watched[l.a] || "peer"; watched[l.b] = watched[l.b] || "peer"; }
        });
        var failing = D.gates.filter(function (g) { return !g.passed && (watched[g.node] || b.status === "refused"); });
        why = h("div", null);
        failing.forEach(function (g) {
          why.appendChild(h("div", {cls: "gate"}, h("span", {cls: "fail", text: "gate " + g.gate}),
                            " on " + (watched[g.node] === "peer" ? "link peer " : "") + g.node + ": " + g.value +
                            " (limit " + g.threshold + ")" +
                            (g.detail ? " — " + g.detail : "")));
        });
        b.nodes.forEach(function (n) {
          var node = D.nodes[n];
          if (node && node.error && !failing.length) {
            why.appendChild(h("div", {cls: "gate"}, h("span", {cls: "fail", text: node.error.step + " failed"}),
                              " on " + n + ": " + node.error.message));
          }
        });
        b.steps.filter(function (s) { return s.step === "rollback"; }).forEach(function (s) {
          why.appendChild(h("div", {cls: "gate"}, h("span", {text: "rollback"}), " of " + s.nodes.join(", ") +
                            " in " + secs(s.end - s.start) +
                            (s.failed.length ? "; NOT restored: " + s.failed.join(", ") : "; every node restored")));
        });
      }
      var fine = ["confirmed", "planned", "rolled_back"].indexOf(b.status) >= 0;
      table.appendChild(h("tr", {cls: fine ? "" : "failed",
                                 "data-batch": batchLabel(b)},
        h("td", {text: b.phase}), h("td", {text: String(b.batch)}), h("td", {text: b.status}),
        h("td", {text: b.nodes.length > 6 ? b.nodes.length + " nodes: " + b.nodes.slice(0, 6).join(", ") + ", …"
                                          : b.nodes.join(", ")}),
        h("td", {text: took}), h("td", null, why)));
    });
    if (!ran.length) {  // a dry-run: the batches the plan would run, by size
      note.textContent = "Dry-run: nothing was rolled out. The batches an apply would run, in order, by size.";
      var c = chart(el);
      c.setOption({
        grid: {left: 200, right: 30, top: 10, bottom: 30},
        tooltip: {},
        yAxis: {type: "category", inverse: true, data: batches.map(batchLabel)},
        xAxis: {type: "value", name: "nodes", nameLocation: "middle", nameGap: 22, minInterval: 1},
        series: [{type: "bar", name: "nodes", data: batches.map(function (b) { return b.nodes.length; }),
                  itemStyle: {color: STATUS_COLOURS.changed}}]
      });
      el.style.height = Math.max(160, 40 + 26 * batches.length) + "px";
      c.resize();
      return;
    }
    note.textContent = "Each batch's steps on one row: pre-flight, push, verify, soak, gates, confirm (and " +
      "rollback). A step outlined in red failed on a node. Hover a step for its nodes and duration.";
    var rows = ran.map(batchLabel);
    var data = [];
    ran.forEach(function (b, i) {
      b.steps.forEach(function (s) {
        data.push({value: [i, s.start * 1000, Math.max(s.end * 1000, s.start * 1000 + 30), s.end - s.start],
                   step: s.step, failed: s.failed, nodes: s.nodes.length ? s.nodes : b.nodes, status: b.status});
      });
    });
    var c2 = chart(el);
    c2.setOption({
      grid: {left: 200, right: 30, top: 30, bottom: 40},
      legend: {top: 0, data: Object.keys(STEP_COLOURS)},
      tooltip: {formatter: function (p) {
        var d = p.data;
        return [d.step + ": " + secs(d.value[3]), "nodes: " + d.nodes.slice(0, 8).join(", ") +
                (d.nodes.length > 8 ? " …" : ""), d.failed.length ? "FAILED on: " + d.failed.join(", ") : ""]
          .filter(Boolean).map(function (t) { return echarts.format.encodeHTML(t); }).join("<br>");
      }},
      xAxis: {type: "time", scale: true},
      yAxis: {type: "category", inverse: true, data: rows},
      series: Object.keys(STEP_COLOURS).map(function (step) {
        return {
          type: "custom", name: step, itemStyle: {color: STEP_COLOURS[step]},
          encode: {x: [1, 2], y: 0},
          data: data.filter(function (d) { return d.step === step; }),
          renderItem: function (params, api) {
            var start = api.coord([api.value(1), api.value(0)]);
            var end = api.coord([api.value(2), api.value(0)]);
            var height = api.size([0, 1])[1] * 0.55;
            var rect = echarts.graphic.clipRectByRect(
              {x: start[0], y: start[1] - height / 2, width: Math.max(end[0] - start[0], 2), height: height},
              {x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width,
               height: params.coordSys.height});
            var failed = data.filter(function (d) { return d.step === step; })[params.dataIndex].failed.length;
            return rect && {type: "rect", shape: rect, style: {
              fill: STEP_COLOURS[step], stroke: failed ? STATUS_COLOURS.failed : null, lineWidth: failed ? 3 : 0}};
          }
        };
      })
    });
    el.style.height = Math.max(180, 80 + 34 * rows.length) + "px";
    c2.resize();
  }

  // --- fabric map ------------------------------------------------------------------------
  var cy = null;
  var groupsOf = {};  // leaf -> its host group id
  function nodeStatus(name) {
    if (D.kind === "validation") {
      var worst = "ok";
      (findingsByNode[name] || []).forEach(function (f) { if (f.severity === "error") worst = "error";
                                                          else if (worst !== "error") worst = "warning"; });
      return worst;
    }
    var n = D.nodes[name];
    if (!n) return "not_targeted";
    // A node whose own step failed is where the run failed, restored or not (its phase mates that
    // were only rolled back with it are "rolled back").
    if (n.error && n.status === "rolled_back") return "failed";
    // "Unchanged" claims the node is at intent: where a managed facet cannot be verified on its
    // platform, the map says so instead (an applied node keeps its colour, with a double border).
    if (n.status === "unchanged" && Object.keys(n.unverified).length) return "not_verified";
    return n.status;
  }
  var findingsByNode = {};
  D.findings.forEach(function (f) {
    f.nodes.forEach(function (n) { (findingsByNode[n] = findingsByNode[n] || []).push(f); });
  });
  var gatesByNode = {};
  D.gates.forEach(function (g) { (gatesByNode[g.node] = gatesByNode[g.node] || []).push(g); });

  function map() {
    var topo = D.topology;
    var legend = document.getElementById("map-legend");
    var shown = {};
    topo.nodes.forEach(function (n) { shown[nodeStatus(n.name)] = true; });
    SEVERITY.forEach(function (s) { if (shown[s]) legend.appendChild(h("span", null, swatch(s), STATUS_LABELS[s])); });
    var canvas = document.getElementById("map-canvas");
    if (!topo.nodes.length) {
      canvas.appendChild(h("p", {cls: "empty", text: "No fabric was loaded (the input was invalid)."}));
      return;
    }
    var role = {}, peers = {}, linksOf = {};
    var isSwitch = function (name) { return role[name] === "spine" || role[name] === "leaf"; };
    topo.nodes.forEach(function (n) { role[n.name] = n.role; peers[n.name] = []; linksOf[n.name] = []; });
    topo.links.forEach(function (l, i) {
      if (!peers[l.a] || !peers[l.b]) return;
      peers[l.a].push(l.b); peers[l.b].push(l.a);
      linksOf[l.a].push(i); linksOf[l.b].push(i);
    });
    var byName = function (a, b) { return a.name.localeCompare(b.name, undefined, {numeric: true}); };
    var spines = topo.nodes.filter(function (n) { return n.role === "spine"; }).sort(byName);
    var leaves = topo.nodes.filter(function (n) { return n.role === "leaf"; }).sort(byName);
    var hosts = topo.nodes.filter(function (n) { return !isSwitch(n.name); });
    // Segments (pods) with their leaves; each host under the first of its leaves.
    var pods = {}, podNames = [];
    leaves.forEach(function (n) {
      var key = n.segment || "";
      if (!pods[key]) { pods[key] = []; podNames.push(key); }
      pods[key].push(n);
    });
    podNames.sort(function (a, b) { return a.localeCompare(b, undefined, {numeric: true}); });
    var hostsOf = {}, homeOf = {};
    hosts.forEach(function (n) {
      var home = peers[n.name].filter(function (p) { return role[p] === "leaf"; }).sort()[0] || null;
      homeOf[n.name] = home;
      if (home) (hostsOf[home] = hostsOf[home] || []).push(n);
    });
    var elements = [], expanded = {};
    function fabricNode(n, hidden) {
      var st = nodeStatus(n.name);
      var partly = D.nodes[n.name] && Object.keys(D.nodes[n.name].unverified).length ? " unverified" : "";
      elements.push({group: "nodes", classes: "fabric-node " + n.role + partly + (hidden ? " hidden" : ""),
                     data: {id: n.name, label: n.name, kind: "node", role: n.role, status: st,
                            colour: STATUS_COLOURS[st]}});
    }
    // Segment boxes are drawn behind their leaves (plain nodes sized by the layout, not compound
    // parents: a compound parent re-measures its children, which costs seconds at 1,000 hosts).
    podNames.forEach(function (p) {
      if (p) elements.push({group: "nodes", classes: "segment", selectable: false, grabbable: false,
                            data: {id: "segment:" + p, label: p, kind: "segment", w: 10, h: 10}});
    });
    spines.forEach(function (n) { fabricNode(n, false); });
    leaves.forEach(function (n) {
      fabricNode(n, false);
      var members = hostsOf[n.name] || [];
      if (!members.length) return;
      var gid = "hosts:" + n.name;
      groupsOf[n.name] = gid;
      var worst = "not_targeted";
      members.forEach(function (m) {
        var s = nodeStatus(m.name);
        if (SEVERITY.indexOf(s) < SEVERITY.indexOf(worst)) worst = s;
      });
      // A group with a node that failed or was rolled back opens by itself: the news is there.
      expanded[gid] = ["failed", "rolled_back", "error"].indexOf(worst) >= 0;
      elements.push({group: "nodes", classes: "host-group" + (expanded[gid] ? " open" : ""),
                     data: {id: gid, leaf: n.name, kind: "group", status: worst, colour: STATUS_COLOURS[worst],
                            count: members.length, label: members.length + " hosts"}});
      elements.push({group: "edges", classes: "group-edge" + (expanded[gid] ? " hidden" : ""),
                     data: {id: "edge:" + gid, source: n.name, target: gid}});
      members.forEach(function (m) { fabricNode(m, !expanded[gid]); });
    });
    hosts.filter(function (n) { return !homeOf[n.name]; }).forEach(function (n) { fabricNode(n, false); });
    // Links between switches always; a host's links only while its group is open (a fabric of
    // 1,000 hosts has 2,000 of them: drawn on demand, the map opens in a fraction of the time).
    function linkElement(i) {
      var l = topo.links[i];
      return {group: "edges", classes: "link" + (isSwitch(l.a) && isSwitch(l.b) ? "" : " host-link"),
              data: {id: "link:" + i, source: l.a, target: l.b, ports: l.ports.join("\n")}};
    }
    topo.links.forEach(function (l, i) {
      if (!peers[l.a] || !peers[l.b]) return;
      var host = !isSwitch(l.a) ? l.a : !isSwitch(l.b) ? l.b : null;
      if (!host || !homeOf[host] || expanded[groupsOf[homeOf[host]]]) elements.push(linkElement(i));
    });

    // Layout: spines on top; pods in rows under them (as many per row as keeps the map about
    // twice as wide as tall); in a pod, its leaves side by side, each with its hosts below.
    var COL = 56, PER_ROW = 4, LEAF_W = COL * PER_ROW + 40, POD_GAP = 90, ROW_GAP = 110;
    function place() {
      var positions = {};
      var perRow = Math.max(1, Math.round(Math.sqrt(podNames.length * 2)));
      var y = 200, widest = 0, boxes = {};
      for (var r = 0; r * perRow < podNames.length; r++) {
        var row = podNames.slice(r * perRow, (r + 1) * perRow), x = 0, tallest = 0;
        row.forEach(function (p) {
          var left = x, height = 150;  // a leaf row and its host group, with a margin
          pods[p].forEach(function (leaf) {
            var cx = x + LEAF_W / 2;
            positions[leaf.name] = {x: cx, y: y};
            var gid = groupsOf[leaf.name];
            if (gid) {
              positions[gid] = {x: cx, y: y + 80};
              if (expanded[gid]) {
                hostsOf[leaf.name].forEach(function (m, i) {
                  positions[m.name] = {x: cx + (i % PER_ROW - (PER_ROW - 1) / 2) * COL, y: y + 80 + Math.floor(i / PER_ROW) * 44};
                });
                height = Math.max(height, 150 + (Math.ceil(hostsOf[leaf.name].length / PER_ROW) - 1) * 44);
              } else {
                hostsOf[leaf.name].forEach(function (m) { positions[m.name] = {x: cx, y: y + 80}; });
              }
            }
            x += LEAF_W;
          });
          boxes[p] = {x: (left + x) / 2, y: y - 40 + height / 2, w: x - left, h: height};
          tallest = Math.max(tallest, height);
          x += POD_GAP;
        });
        widest = Math.max(widest, x - POD_GAP);
        y += tallest + ROW_GAP;
      }
      spines.forEach(function (n, i) {
        positions[n.name] = {x: spines.length > 1 ? (widest * i) / (spines.length - 1) : widest / 2, y: 0};
      });
      hosts.filter(function (n) { return !homeOf[n.name]; }).forEach(function (n, i) {
        positions[n.name] = {x: i * COL, y: y};
      });
      cy.batch(function () {
        cy.nodes().forEach(function (node) {
          var id = node.id();
          if (positions[id]) node.position(positions[id]);
          else if (id.indexOf("segment:") === 0) {
            var b = boxes[id.slice(8)];
            node.position({x: b.x, y: b.y});
            node.data({w: b.w, h: b.h});
          }
        });
      });
    }
    cy = cytoscape({
      container: canvas, elements: elements, layout: {name: "preset"},
      minZoom: 0.02, maxZoom: 3, wheelSensitivity: 0.3, textureOnViewport: true, hideEdgesOnViewport: true,
      style: [
        {selector: "node", style: {"label": "data(label)", "font-size": 10, "text-valign": "bottom",
                                   "text-margin-y": 3, "color": "#1f2328", "z-index": 10,
                                   "z-index-compare": "manual"}},
        {selector: "node.fabric-node", style: {"background-color": "data(colour)", "border-width": 1,
                                               "border-color": "#57606a", "width": 22, "height": 22}},
        {selector: "node.spine", style: {"shape": "round-rectangle", "width": 44, "height": 26}},
        {selector: "node.leaf", style: {"shape": "round-rectangle", "width": 40, "height": 24}},
        {selector: "node.host_nic", style: {"shape": "ellipse", "width": 16, "height": 16, "font-size": 8}},
        {selector: "node[status = 'failed'], node[status = 'error']",
         style: {"border-width": 3, "border-color": "#82071e"}},
        {selector: "node[status = 'skipped']", style: {"border-style": "dashed"}},
        {selector: "node.unverified", style: {"border-style": "double", "border-width": 4}},
        {selector: "node.host-group", style: {"shape": "round-rectangle", "width": 90, "height": 24,
                                              "background-color": "data(colour)", "background-opacity": 0.35,
                                              "border-width": 1, "border-color": "data(colour)",
                                              "text-valign": "center", "text-margin-y": 0, "font-size": 10}},
        {selector: "node.host-group.open", style: {"display": "none"}},
        {selector: "node.segment", style: {"background-color": "#f6f8fa", "border-width": 1, "border-color": "#d0d7de",
                                           "shape": "round-rectangle", "width": "data(w)", "height": "data(h)",
                                           "text-valign": "top", "text-margin-y": -4, "font-size": 14,
                                           "color": "#656d76", "z-index": 0, "events": "no"}},
        // Manual z-order: segment boxes (0) under links (5) under nodes (10).
        {selector: "edge", style: {"width": 1, "line-color": "#afb8c1", "line-opacity": 0.6, "curve-style": "straight",
                                   "z-index": 5, "z-index-compare": "manual"}},
        {selector: "edge.host-link", style: {"line-color": "#d0d7de"}},
        {selector: ".hidden", style: {"display": "none"}},
        {selector: "node:selected", style: {"overlay-color": "#0969da", "overlay-opacity": 0.25, "overlay-padding": 6}}
      ]
    });
    place();
    function toggle(gid, open) {
      var g = cy.getElementById(gid);
      var leaf = g.data("leaf");
      expanded[gid] = open;
      cy.batch(function () {
        g.toggleClass("open", open);
        cy.getElementById("edge:" + gid).toggleClass("hidden", open);
        (hostsOf[leaf] || []).forEach(function (m) {
          cy.getElementById(m.name).toggleClass("hidden", !open);
          linksOf[m.name].forEach(function (i) {
            var edge = cy.getElementById("link:" + i);
            if (open && edge.empty()) cy.add(linkElement(i));
            var l = topo.links[i], other = l.a === m.name ? l.b : l.a;
            if (!open && edge.nonempty() && !(homeOf[other] && expanded[groupsOf[homeOf[other]]])) edge.remove();
          });
        });
      });
      place();
    }
    cy.on("tap", "node.host-group", function (evt) { toggle(evt.target.id(), true); });
    cy.on("tap", "node.fabric-node", function (evt) {
      var id = evt.target.id();
      if (role[id] === "leaf" && groupsOf[id]) {  // a leaf's second click folds its hosts back
        var g = cy.getElementById(groupsOf[id]);
        if (g.hasClass("open") && cy.$(":selected").id() === id) toggle(groupsOf[id], false);
      }
      detail(id);
    });
    cy.fit(undefined, 20);
    window.nrReport.cy = cy;
    window.nrReport.expand = function (leaf) { if (groupsOf[leaf]) toggle(groupsOf[leaf], true); };
    window.nrReport.collapse = function (leaf) { if (groupsOf[leaf]) toggle(groupsOf[leaf], false); };
  }

  function detail(name) {
    var panel = clear(document.getElementById("node-detail"));
    var topoNode = D.topology.nodes.filter(function (n) { return n.name === name; })[0] || {};
    var n = D.nodes[name];
    var st = nodeStatus(name);
    panel.setAttribute("data-node", name);
    panel.appendChild(h("h3", {text: name}));
    var label = STATUS_LABELS[st] + (n && n.status !== st && st === "failed" ? ", then rolled back to its snapshot" : "");
    panel.appendChild(h("div", null, swatch(st), h("b", {cls: "status", text: label}),
                        " · " + (topoNode.role || "") + " · " + (topoNode.platform || "") +
                        (topoNode.segment ? " · " + topoNode.segment : "")));
    if (n) {
      if (n.phase) panel.appendChild(h("div", {text: "phase " + n.phase + ", batch " + n.batch}));
      if (n.elapsed_s) panel.appendChild(h("div", {text: "time on this node: " + secs(n.elapsed_s)}));
      if (n.error) panel.appendChild(h("div", {cls: "step-error"}, h("b", {text: n.error.step + " failed: "}),
                                       n.error.message));
      panel.appendChild(h("h4", {text: "Changes (" + n.changes.length + ")"}));
      if (!n.changes.length) panel.appendChild(h("div", {cls: "empty", text: "none"}));
      n.changes.forEach(function (c) {
        panel.appendChild(h("div", {cls: "line change"}, h("span", {cls: "port", text: c[0]}), " " + c[1] + ": ",
                            h("span", {cls: "before", text: c[2]}), " → ", h("span", {cls: "after", text: c[3]})));
      });
      Object.keys(n.unverified).forEach(function (facet) {
        panel.appendChild(h("div", {cls: "line"}, h("b", {text: "not verified: "}),
                            facet + " (" + n.unverified[facet] + ")"));
      });
    } else if (D.kind === "run") {
      panel.appendChild(h("p", {cls: "empty", text: "Not targeted by this run."}));
    }
    var gates = gatesByNode[name] || [];
    if (D.kind === "run") {
      panel.appendChild(h("h4", {text: "Gates (" + gates.length + ")"}));
      if (!gates.length) panel.appendChild(h("div", {cls: "empty", text: "none judged on this node"}));
      gates.slice().sort(function (a, b) { return a.passed - b.passed; }).forEach(function (g) {
        panel.appendChild(h("div", {cls: "gate", "data-passed": String(g.passed)},
                            h("span", {cls: g.passed ? "pass" : "fail", text: g.passed ? "pass " : "FAIL "}),
                            h("b", {text: g.gate}), ": " + g.value + " (limit " + g.threshold + ")" +
                            (g.detail ? " — " + g.detail : "")));
      });
    }
    var findings = findingsByNode[name] || [];
    panel.appendChild(h("h4", {text: "Findings (" + findings.length + ")"}));
    if (!findings.length) panel.appendChild(h("div", {cls: "empty", text: "none"}));
    findings.forEach(function (f) {
      panel.appendChild(h("div", {cls: "gate"}, h("span", {cls: f.severity === "error" ? "fail" : "", text: f.severity + " "}),
                          h("a", {href: "#rule-" + f.rule.toLowerCase(), text: f.rule}), " " + f.message));
    });
    var links = (D.topology.links || []).filter(function (l) { return l.a === name || l.b === name; });
    panel.appendChild(h("h4", {text: "Links (" + links.length + ")"}));
    links.slice(0, 64).forEach(function (l) {
      var other = l.a === name ? l.b : l.a;
      panel.appendChild(h("div", {cls: "line"}, swatch(nodeStatus(other)), l.ports.join(", ")));
    });
  }

  // --- KPI charts ------------------------------------------------------------------------
  function kpis() {
    var note = document.getElementById("kpi-note");
    var select = document.getElementById("kpi-batch");
    var withKpis = (D.batches || []).filter(function (b) { return b.kpis && b.kpis.length; });
    if (!withKpis.length) {
      note.textContent = D.kind === "validation" ? "A validation reads no counters." :
        "No batch ran, so no counters were judged: KPIs are measured over each batch's pre-flight and soak.";
      document.getElementById("kpi-pick-label").style.display = "none";
      return;
    }
    note.textContent = "The worst node of the batch and its link peers, per interval, with the gate's limit " +
      "(red dashed). The grey band is the pre-flight, the blue band the soak.";
    var first = 0;
    withKpis.forEach(function (b, i) { if (b.status !== "confirmed" && !first) first = i; });
    withKpis.forEach(function (b, i) {
      var o = h("option", {value: String(i), text: batchLabel(b) + " (" + b.status + ")"});
      if (i === first) o.selected = true;
      select.appendChild(o);
    });
    var grid = document.getElementById("kpi-charts");
    var kpiCharts = [];
    function draw(b) {
      kpiCharts.forEach(function (c) { c.dispose(); charts.splice(charts.indexOf(c), 1); });
      kpiCharts = [];
      clear(grid);
      b.kpis.forEach(function (s) {
        var el = h("div", {cls: "chart kpi", "data-kpi": s.kpi});
        grid.appendChild(el);
        // Each interval is a flat step at its figure; a gap between intervals (pre-flight to soak)
        // is a gap in the line, back-to-back intervals (a streamed series) join up.
        var data = [], lastEnd = null;
        s.points.forEach(function (p) {
          if (lastEnd !== null && p.start > lastEnd + 0.5) data.push([p.start * 1000, null]);
          lastEnd = p.end;
          data.push({value: [p.start * 1000, p.value], node: p.node, stage: p.stage});
          data.push({value: [p.end * 1000, p.value], node: p.node, stage: p.stage});
        });
        var stages = [];  // one band per stage, however many intervals it has
        s.points.forEach(function (p) {
          var last = stages[stages.length - 1];
          if (last && last.stage === p.stage) last.end = p.end;
          else stages.push({stage: p.stage, start: p.start, end: p.end});
        });
        var bands = stages.map(function (b) {
          return [{xAxis: b.start * 1000, name: b.stage,
                   itemStyle: {color: b.stage === "soak" ? "rgba(84,174,255,0.12)" : "rgba(140,149,159,0.15)"}},
                  {xAxis: b.end * 1000}];
        });
        var two = s.samples_per_stage === 2;
        var c = chart(el);
        kpiCharts.push(c);
        var max = Math.max.apply(null, s.points.map(function (p) { return p.value; }).concat(
          s.threshold !== null ? [s.threshold * 1.15] : [1]));
        c.setOption({
          title: {text: KPI_TITLES[s.kpi] + " (" + s.unit + ")", left: 8, top: 4, textStyle: {fontSize: 13},
                  subtext: two ? "only two samples per stage: each line is the stage's average (" + s.source + ")"
                               : s.source, subtextStyle: {fontSize: 11, color: two ? "#9a6700" : "#656d76"}},
          grid: {left: 56, right: 24, top: 58, bottom: 30},
          tooltip: {trigger: "axis", formatter: function (ps) {
            var p = ps.filter(function (q) { return q.data && q.data.node; })[0];
            if (!p) return "";
            return echarts.format.encodeHTML(p.data.stage + ": " + p.data.value[1] + " " + s.unit +
                                             " (worst: " + p.data.node + ")");
          }},
          xAxis: {type: "time", scale: true},
          yAxis: {type: "value", max: Math.ceil(max * 1.1) || 1, minInterval: s.unit === "frames/s" ? 0 : 1},
          series: [{
            type: "line", name: s.kpi, data: data, connectNulls: false, showSymbol: true, symbolSize: 5,
            lineStyle: {width: 2}, itemStyle: {color: "#0969da"},
            markArea: {silent: true, data: bands},
            markLine: s.threshold === null ? undefined : {
              symbol: "none", silent: true, lineStyle: {color: STATUS_COLOURS.failed, type: "dashed", width: 2},
              label: {formatter: "gate " + s.threshold, position: "insideEndTop"},
              data: [{yAxis: s.threshold, name: "gate"}]}
          }]
        });
      });
    }
    select.addEventListener("change", function () { draw(withKpis[Number(select.value)]); });
    draw(withKpis[first]);
  }

  // --- findings ----------------------------------------------------------------------------
  function findings() {
    var table = document.getElementById("findings-table");
    var el = document.getElementById("findings-chart");
    if (!D.findings.length) {
      el.style.display = "none";
      table.appendChild(h("tr", null, h("td", {cls: "empty", text: "No validation findings."})));
      return;
    }
    var byRule = {};
    D.findings.forEach(function (f) {
      var k = f.rule;
      byRule[k] = byRule[k] || {error: 0, warning: 0};
      byRule[k][f.severity] += f.where.length;
    });
    var rules = Object.keys(byRule).sort();
    var c = chart(el);
    c.setOption({
      title: {text: "Places each rule found (ports or nodes)", left: 8, textStyle: {fontSize: 13}},
      legend: {top: 0, right: 10}, tooltip: {trigger: "axis"}, grid: {left: 80, right: 20, top: 40, bottom: 30},
      xAxis: {type: "value", minInterval: 1}, yAxis: {type: "category", data: rules, inverse: true},
      series: ["error", "warning"].map(function (sev) {
        return {type: "bar", stack: "all", name: sev, itemStyle: {color: STATUS_COLOURS[sev]},
                data: rules.map(function (r) { return byRule[r][sev]; })};
      })
    });
    el.style.height = Math.max(160, 70 + 26 * rules.length) + "px";
    c.resize();
    table.appendChild(h("tr", null, h("th", {text: "severity"}), h("th", {text: "rule"}), h("th", {text: "where"}),
                        h("th", {text: "what to change"})));
    D.findings.forEach(function (f) {
      var where = f.where.slice(0, 12).join(", ") + (f.where.length > 12 ? " (+" + (f.where.length - 12) + " more)" : "");
      table.appendChild(h("tr", {cls: f.severity === "error" ? "failed" : ""},
        h("td", {cls: f.severity === "error" ? "fail" : "", text: f.severity}),
        h("td", null, h("a", {cls: "rule-link", href: "#rule-" + f.rule.toLowerCase(), text: f.rule})),
        h("td", {text: where}),
        h("td", {text: f.message + (f.count > 1 ? " (the same finding " + f.count + " times)" : "")})));
    });
    var cat = document.getElementById("rule-catalogue");
    cat.appendChild(h("h2", {text: "Rules (from the rule catalogue, " + D.rules_doc + ")"}));
    D.rules.forEach(function (r) {
      cat.appendChild(h("div", {cls: "rule", id: "rule-" + r.anchor},
        h("h3", {text: r.id + ": " + r.title}),
        h("p", null, h("b", {text: "Checks. "}), r.checks),
        h("p", null, h("b", {text: "Why it matters. "}), r.why),
        h("p", null, h("b", {text: "Source. "}), r.source),
        h("p", {cls: "note", text: "In the repository: " + D.rules_doc + "#" + r.anchor})));
    });
  }

  window.nrReport = {data: D, charts: charts, cy: null, detail: detail};
  document.getElementById("version").textContent = D.version;
  // Each part timed in the browser's performance timeline (benchmarks/html_report.py prints them).
  [["summary", summary], ["timeline", timeline], ["map", map], ["kpis", kpis], ["findings", findings]]
    .forEach(function (part) {
      performance.mark("nr-" + part[0]);
      part[1]();
      performance.measure("nr-" + part[0], "nr-" + part[0]);
    });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  document.body.setAttribute("data-ready", "true");
})();
