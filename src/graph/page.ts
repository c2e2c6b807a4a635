import { RED, VERDICT_COLORS } from "./format.js";

/**
 * The topology page: static HTML, CSS and script (no data is ever put into them on the server).
 * The script fetches /api/graph and /api/container/<id> and builds every piece of text with
 * textContent / text nodes, never as markup: container names and labels are hostile input. It
 * only reads: the page has no state-changing action. Served with a strict Content-Security-Policy
 * (scripts and styles from the daemon only; the graph library is served by the daemon too, so
 * the page works offline).
 */

const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>netmon topology</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/app.css" id="__________cytoscape_stylesheet">
</head>
<body data-state="loading">
<header>
  <h1>netmon</h1>
  <span id="summary">loading…</span>
  <span id="status" role="status"></span>
  <ul id="legend" aria-label="legend">
    <li><span class="swatch v-allowed-policy"></span>allowed by policy</li>
    <li><span class="swatch v-allowed-baseline"></span>allowed by baseline</li>
    <li><span class="swatch v-learning"></span>learning / not judged</li>
    <li><span class="swatch v-unexpected"></span>unexpected</li>
    <li><span class="swatch v-blocked"></span>blocked</li>
  </ul>
</header>
<main>
  <div id="cy" aria-label="connection map"></div>
  <aside id="panel" data-state="empty" aria-live="polite"></aside>
</main>
<script src="/ui/cytoscape.min.js"></script>
<script src="/ui/app.js"></script>
</body>
</html>
`;

const PAGE_CSS = `
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; display: flex; flex-direction: column; }
header { display: flex; align-items: center; gap: 16px; padding: 6px 12px; border-bottom: 1px solid #ddd; background: #fafafa; flex-wrap: wrap; }
header h1 { font-size: 16px; margin: 0; }
#status.error { color: ${RED}; font-weight: bold; }
#legend { list-style: none; display: flex; gap: 12px; margin: 0 0 0 auto; padding: 0; font-size: 12px; }
.swatch { display: inline-block; width: 18px; height: 0; border-top: 3px solid #999; vertical-align: middle; margin-right: 4px; }
.v-allowed-policy { border-top-color: ${VERDICT_COLORS["allowed-policy"]}; }
.v-allowed-baseline { border-top-color: ${VERDICT_COLORS["allowed-baseline"]}; }
.v-learning, .v-unjudged { border-top-color: ${VERDICT_COLORS.learning}; border-top-style: dotted; }
.v-unexpected { border-top-color: ${RED}; }
.v-blocked { border-top-color: ${RED}; border-top-style: dashed; }
main { flex: 1; display: flex; min-height: 0; }
#cy, .__________cytoscape_container { position: relative; }
#cy { flex: 1; min-width: 0; background: #fff; }
#panel { width: 400px; max-width: 45%; overflow: auto; border-left: 1px solid #ddd; padding: 10px 14px; background: #fcfcfc; }
#panel h2 { font-size: 15px; margin: 0 0 6px; overflow-wrap: anywhere; }
#panel h3 { font-size: 13px; margin: 14px 0 4px; border-bottom: 1px solid #eee; }
#panel .hint, #panel .muted { color: #777; }
#panel dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0; }
#panel dt { color: #666; }
#panel dd { margin: 0; overflow-wrap: anywhere; }
#panel ul { margin: 0; padding-left: 18px; }
#panel li { margin: 2px 0; overflow-wrap: anywhere; }
#panel table { border-collapse: collapse; width: 100%; }
#panel td { border-bottom: 1px solid #f0f0f0; padding: 2px 4px; vertical-align: top; overflow-wrap: anywhere; }
.verdict { font-size: 11px; padding: 0 4px; border-radius: 3px; background: #eee; }
.verdict.unexpected, .verdict.blocked { background: ${RED}; color: #fff; }
.alert { border-left: 4px solid #f0ad4e; padding: 2px 6px; margin: 4px 0; background: #fff; list-style: none; }
.alert.critical { border-left-color: ${RED}; }
.alert.info { border-left-color: #5bc0de; }
.alert .sev { font-weight: bold; text-transform: uppercase; font-size: 11px; }
.error { color: ${RED}; }
`;

/** The browser script, plain ES2020 run as a classic script (no template literals, no markup from data). */
const PAGE_JS = `(function () {
  "use strict";
  var RED = ${JSON.stringify(RED)};
  var COLORS = ${JSON.stringify(VERDICT_COLORS)};
  var params = new URLSearchParams(location.search);
  var refreshMs = Math.max(1000, Number(params.get("refresh") || 5) * 1000);
  var state = { graph: null, selected: null, userMoved: false, inLayout: false, laidOut: false, updates: 0, detailsSeq: 0, timer: 0, details: null };

  function $(id) { return document.getElementById(id); }

  /** Builds an element; strings become text nodes (never markup). */
  function el(tag, className, children) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    (children || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      e.append(c instanceof Node ? c : String(c));
    });
    return e;
  }

  function dl(rows) {
    var d = el("dl");
    rows.forEach(function (r) {
      if (r[1] === null || r[1] === undefined || r[1] === "") return;
      d.append(el("dt", null, [r[0]]), el("dd", null, [r[1]]));
    });
    return d;
  }

  function time(ms) { return ms ? new Date(ms).toLocaleTimeString() : "-"; }
  function dateTime(ms) { return ms ? new Date(ms).toLocaleString() : "-"; }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function edgeText(e) {
    var t = e.proto + "/" + e.port + " \\u00d7" + e.connections;
    if (e.failed > 0) t += " (" + e.failed + " failed)";
    return t;
  }

  var STYLE = [
    { selector: "node", style: { label: "data(display)", "font-size": 11, "text-valign": "bottom", "text-halign": "center", "text-margin-y": 4, "background-color": "#4a78a8", width: 26, height: 26, "text-wrap": "ellipsis", "text-max-width": "180px", color: "#222" } },
    { selector: "node[kind = \\"external\\"]", style: { shape: "round-rectangle", "background-color": "#8c8c8c", width: 22, height: 22 } },
    { selector: "node[kind = \\"host\\"]", style: { shape: "hexagon", "background-color": "#444" } },
    { selector: "node[kind = \\"project\\"]", style: { shape: "round-rectangle", "background-color": "#eef3f8", "border-width": 1, "border-color": "#9bb0c6", "text-valign": "top", "text-margin-y": -4, "font-weight": "bold", padding: "16px" } },
    { selector: "node[alerts > 0]", style: { "border-width": 4, "border-color": RED } },
    { selector: "edge", style: { "curve-style": "bezier", width: 2, "line-color": COLORS["allowed-policy"], "target-arrow-color": COLORS["allowed-policy"], "target-arrow-shape": "triangle", label: "data(label)", "font-size": 9, "text-rotation": "autorotate", "text-background-color": "#ffffff", "text-background-opacity": 0.85, color: "#333" } },
    { selector: "edge[verdict = \\"allowed-baseline\\"]", style: { "line-color": COLORS["allowed-baseline"], "target-arrow-color": COLORS["allowed-baseline"] } },
    { selector: "edge[verdict = \\"learning\\"], edge[verdict = \\"unjudged\\"]", style: { "line-color": COLORS.learning, "target-arrow-color": COLORS.learning, "line-style": "dotted" } },
    { selector: "edge[verdict = \\"unexpected\\"]", style: { "line-color": RED, "target-arrow-color": RED, width: 3, color: RED } },
    { selector: "edge[verdict = \\"blocked\\"]", style: { "line-color": RED, "target-arrow-color": RED, width: 3, "line-style": "dashed", "target-arrow-shape": "tee", color: RED } },
    { selector: ":selected", style: { "overlay-color": "#1f77b4", "overlay-opacity": 0.25, "overlay-padding": 6 } }
  ];

  var cy = cytoscape({ container: $("cy"), elements: [], style: STYLE, minZoom: 0.1, maxZoom: 4 });
  window.cy = cy;
  // Once the operator pans or zooms, refreshes stop fitting the map to the window.
  cy.on("viewport", function () { if (!state.inLayout) state.userMoved = true; });

  function nodeData(n) {
    var d = { id: n.id, kind: n.kind, label: n.label, alerts: n.alerts || 0, display: n.label };
    if (n.parent) d.parent = n.parent;
    if (n.alerts) d.display = n.label + " (" + plural(n.alerts, "alert") + ")";
    return d;
  }

  function edgeData(e) {
    return { id: e.id, source: e.source, target: e.target, verdict: e.verdict, label: edgeText(e) };
  }

  /** Adds, removes and updates elements in place; lays out again only when the set of elements changed. */
  function apply(g) {
    var wanted = new Map();
    g.nodes.forEach(function (n) { wanted.set(n.id, { group: "nodes", data: nodeData(n) }); });
    g.edges.forEach(function (e) { wanted.set(e.id, { group: "edges", data: edgeData(e) }); });
    var changed = false;
    cy.batch(function () {
      var gone = cy.elements().filter(function (ele) {
        var w = wanted.get(ele.id());
        return !w || (w.group === "nodes" && (ele.data("parent") || null) !== (w.data.parent || null));
      });
      if (gone.nonempty()) { changed = true; cy.remove(gone); }
      var add = [];
      wanted.forEach(function (w, id) {
        var ex = cy.getElementById(id);
        if (ex.empty()) { add.push(w); return; }
        var upd = {};
        Object.keys(w.data).forEach(function (k) {
          if (k !== "id" && k !== "source" && k !== "target" && k !== "parent") upd[k] = w.data[k];
        });
        ex.data(upd);
      });
      if (add.length > 0) {
        changed = true;
        // Parents before children, nodes before edges.
        var rank = function (x) { return x.group === "edges" ? 2 : x.data.kind === "project" ? 0 : 1; };
        add.sort(function (a, b) { return rank(a) - rank(b); });
        cy.add(add);
      }
    });
    if (changed || !state.laidOut) {
      state.inLayout = true;
      try {
        cy.layout({ name: "cose", animate: false, randomize: !state.laidOut, fit: !state.userMoved, padding: 30, nodeDimensionsIncludeLabels: true, idealEdgeLength: function () { return 110; }, nodeRepulsion: function () { return 9000; } }).run();
        // A handful of nodes fitted to the window would be drawn huge.
        if (!state.userMoved && cy.zoom() > 1.5) { cy.zoom(1.5); cy.center(); }
      } finally {
        state.inLayout = false;
      }
      state.laidOut = true;
    }
    if (state.selected) {
      var sel = cy.getElementById(state.selected.id);
      if (sel.nonempty() && !sel.selected()) { cy.elements().unselect(); sel.select(); }
    }
  }

  function summary(g) {
    var bad = g.edges.filter(function (e) { return e.verdict === "unexpected" || e.verdict === "blocked"; }).length;
    var win = g.windowMs === null ? "all connections" : "last " + Math.round(g.windowMs / 60000) + " min";
    var text = plural(g.nodes.filter(function (n) { return n.kind !== "project"; }).length, "node") + ", " +
      plural(g.edges.length, "connection") + " (" + bad + " unexpected or blocked), " + win;
    if (g.stats.evictedNodes + g.stats.evictedEdges > 0)
      text += "; caps reached: " + g.stats.evictedNodes + " nodes, " + g.stats.evictedEdges + " edges dropped";
    return text;
  }

  async function refresh() {
    clearTimeout(state.timer);
    try {
      var r = await fetch("/api/graph", { cache: "no-store" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      var g = await r.json();
      state.graph = g;
      apply(g);
      $("summary").textContent = summary(g);
      $("status").textContent = "updated " + time(Date.now());
      $("status").className = "";
      state.updates++;
      document.body.dataset.updates = String(state.updates);
      document.body.dataset.state = "ready";
      await renderPanel();
    } catch (err) {
      $("status").textContent = "cannot read the map from netmon (" + (err && err.message ? err.message : err) + "); retrying";
      $("status").className = "error";
      document.body.dataset.state = "error";
    } finally {
      state.timer = setTimeout(refresh, refreshMs);
    }
  }

  function findNode(id) { return state.graph ? state.graph.nodes.find(function (n) { return n.id === id; }) : undefined; }
  function findEdge(id) { return state.graph ? state.graph.edges.find(function (e) { return e.id === id; }) : undefined; }
  function labelOf(id) { var n = findNode(id); return n ? n.label : id; }

  function verdictBadge(v) { return el("span", "verdict " + v, [v]); }

  function connectionsOf(node) {
    var edges = state.graph.edges.filter(function (e) { return e.source === node.id || e.target === node.id; });
    if (edges.length === 0) return el("p", "muted", ["none in the window"]);
    var ul = el("ul");
    edges.forEach(function (e) {
      var out = e.source === node.id;
      ul.append(el("li", null, [
        (out ? "\\u2192 " : "\\u2190 ") + labelOf(out ? e.target : e.source) + " " + edgeText(e) + " ",
        verdictBadge(e.verdict),
      ]));
    });
    return ul;
  }

  function alertsSection(alerts) {
    var box = el("div", "alerts");
    box.append(el("h3", null, ["Active alerts (" + alerts.length + ")"]));
    if (alerts.length === 0) { box.append(el("p", "muted", ["none"])); return box; }
    var ul = el("ul");
    alerts.forEach(function (a) {
      ul.append(el("li", "alert " + a.severity, [
        el("span", "sev", [a.severity]), " ", a.detector, el("br"), a.summary, el("br"),
        el("span", "muted", ["\\u00d7" + a.count + ", first " + time(a.firstSeen) + ", last " + time(a.lastSeen) +
          (a.action !== "none" ? ", action: " + a.action : "") + (a.container ? ", container " + a.container : "")]),
      ]));
    });
    box.append(ul);
    return box;
  }

  function detailsView(d) {
    var frag = el("div", "details");
    frag.append(el("h3", null, ["Container"]), dl([
      ["name", d.name], ["image", d.image], ["id", d.id.slice(0, 12)], ["workload", d.workload],
      ["state", d.running ? "running since " + dateTime(d.startedAt) : "stopped"],
      ["networks", d.networks.map(function (n) { return n.name + " " + [n.ipv4, n.ipv6].filter(Boolean).join(" "); }).join(", ")],
      ["mode", d.mode.effective + (d.mode.effective !== d.mode.configured ? " (configured: " + d.mode.configured + ")" : "")],
      ["learning until", d.mode.learningUntil ? dateTime(d.mode.learningUntil) : null],
    ]));
    frag.append(alertsSection(d.alerts));
    if (d.blocks.length > 0) {
      var bl = el("ul");
      d.blocks.forEach(function (b) { bl.append(el("li", null, [b.block + " until " + dateTime(b.expiresAt) + ": " + b.reason])); });
      frag.append(el("h3", null, ["Active blocks (" + d.blocks.length + ")"]), bl);
    }
    frag.append(el("h3", null, ["Policy"]));
    var keys = Object.keys(d.labels).sort();
    if (keys.length === 0) frag.append(el("p", "muted", ["no netmon labels"]));
    else {
      var t = el("table", "labels");
      keys.forEach(function (k) {
        var v = d.labels[k];
        t.append(el("tr", null, [el("td", null, [k]), el("td", v === "" ? "muted" : null, [v === "" ? "(empty)" : v])]));
      });
      frag.append(t);
    }
    if (d.otherLabels > 0) frag.append(el("p", "muted", [plural(d.otherLabels, "other label") + " not shown"]));
    frag.append(dl([["declared ports", d.policy.declaredPorts.join(", ") || "none"]]));
    if (d.policy.warnings.length > 0) {
      var w = el("ul", "error");
      d.policy.warnings.forEach(function (x) { w.append(el("li", null, [x])); });
      frag.append(w);
    }
    frag.append(el("h3", null, ["Baseline"]));
    if (!d.baseline) frag.append(el("p", "muted", ["nothing learned"]));
    else {
      frag.append(dl([["first seen", dateTime(d.baseline.firstSeen)], ["listen", d.baseline.listen.join(", ") || "none"]]));
      var eg = el("ul", "baseline-egress");
      d.baseline.egress.forEach(function (x) {
        var p = x.split("|");
        eg.append(el("li", null, [p.length === 3 ? p[0] + " " + p[1] + "/" + p[2] : x]));
      });
      if (d.baseline.egress.length === 0) eg.append(el("li", "muted", ["no egress learned"]));
      frag.append(eg);
      if (d.baseline.dropped > 0) frag.append(el("p", "muted", [d.baseline.dropped + " entries dropped at the cap"]));
    }
    return frag;
  }

  async function renderPanel() {
    var panel = $("panel");
    var sel = state.selected;
    var seq = ++state.detailsSeq;
    var keepScroll = panel.scrollTop;
    if (!sel) {
      panel.replaceChildren(el("p", "hint", ["Select a container, a destination or a connection for details."]));
      panel.dataset.state = "empty";
      delete panel.dataset.container;
      return;
    }
    if (sel.type === "edge") {
      var e = findEdge(sel.id);
      if (!e) { panel.replaceChildren(el("p", "muted", ["this connection left the window"])); panel.dataset.state = "gone"; return; }
      panel.replaceChildren(
        el("h2", null, [labelOf(e.source) + " \\u2192 " + labelOf(e.target)]),
        verdictBadge(e.verdict),
        dl([["proto/port", e.proto + "/" + e.port], ["connections", String(e.connections)], ["failed", String(e.failed)],
          ["first seen", dateTime(e.firstSeen)], ["last seen", dateTime(e.lastSeen)]])
      );
      panel.dataset.state = "edge";
      return;
    }
    var n = findNode(sel.id);
    if (!n) { panel.replaceChildren(el("p", "muted", ["this node left the window"])); panel.dataset.state = "gone"; return; }
    var head = [
      el("h2", null, [n.label]),
      dl([["kind", n.kind === "external" ? "external (" + (n.group === "dns" ? "DNS name" : "network") + ")" : n.kind],
        ["workload", n.workload], ["project", n.project], ["last seen", dateTime(n.lastSeen)]]),
    ];
    if (n.containers && n.containers.length > 1) {
      var cl = el("ul");
      n.containers.forEach(function (c) { cl.append(el("li", null, [c.name + " (" + c.id.slice(0, 12) + ")"])); });
      head.push(el("h3", null, ["Containers"]), cl);
    }
    head.push(el("h3", null, ["Connections"]), connectionsOf(n));
    var container = n.containers && n.containers[0];
    if (!container) {
      panel.replaceChildren.apply(panel, head);
      panel.dataset.state = n.kind;
      delete panel.dataset.container;
      return;
    }
    if (panel.dataset.container !== container.id) {
      panel.replaceChildren.apply(panel, head.concat([el("p", "muted", ["loading details…"])]));
      panel.dataset.state = "loading";
    }
    var body;
    try {
      var r = await fetch("/api/container/" + encodeURIComponent(container.id), { cache: "no-store" });
      if (r.status === 404) body = el("p", "muted", ["container " + container.name + " is gone"]);
      else if (!r.ok) throw new Error("HTTP " + r.status);
      else body = detailsView(await r.json());
    } catch (err) {
      body = el("p", "error", ["cannot read the container details (" + (err && err.message ? err.message : err) + ")"]);
    }
    if (seq !== state.detailsSeq) return; // a newer selection or refresh won
    panel.replaceChildren.apply(panel, head.concat([body]));
    panel.dataset.state = "loaded";
    panel.dataset.container = container.id;
    panel.scrollTop = keepScroll;
  }

  function select(sel) {
    state.selected = sel;
    renderPanel();
  }

  cy.on("tap", "node", function (ev) { select({ type: "node", id: ev.target.id() }); });
  cy.on("tap", "edge", function (ev) { select({ type: "edge", id: ev.target.id() }); });
  cy.on("tap", function (ev) { if (ev.target === cy) select(null); });

  window.netmonUi = { refresh: refresh, state: state, select: select };
  renderPanel();
  refresh();
})();
`;

/** The page (static: every piece of data is fetched and inserted as text by the script). */
export function renderPage(): string {
  return PAGE_HTML;
}

export function pageScript(): string {
  return PAGE_JS;
}

export function pageStyles(): string {
  return PAGE_CSS;
}
