// @ts-check
/**
 * The topology page's script (/ui/app.js), run as a classic script after cytoscape.min.js. The
 * server puts `var NETMON_THEME = {...}` (the colours of src/graph/format.ts) in front of it.
 * It fetches /api/graph and /api/container/<id> and builds every piece of text with textContent /
 * text nodes, never as markup: container names and labels are hostile input. It only reads: the
 * page has no state-changing action. Type-checked by src/graph/ui/tsconfig.json (DOM + cytoscape).
 * Long on purpose: the page's one script, served as it is (no bundler), read top to bottom.
 */

/**
 * @typedef {import("../snapshot-types.js").GraphSnapshot} GraphSnapshot
 * @typedef {import("../snapshot-types.js").GraphNode} GraphNode
 * @typedef {import("../snapshot-types.js").GraphEdge} GraphEdge
 * @typedef {import("../snapshot-types.js").GraphContainer} GraphContainer
 * @typedef {import("../snapshot-types.js").EdgeVerdict} EdgeVerdict
 * @typedef {import("../details.js").ContainerDetails} ContainerDetails
 * @typedef {import("../details.js").ContainerDetailsAlert} ContainerDetailsAlert
 * @typedef {{ red: string, verdicts: Record<EdgeVerdict, string> }} Theme
 * @typedef {{ type: "node" | "edge", id: string }} Selected
 * @typedef {{ group: "nodes" | "edges", data: Record<string, string | number> }} Wanted
 * @typedef {Node | string | number | null | undefined | false} Child
 */

(() => {
  // biome-ignore lint/suspicious/noRedundantUseStrict: a classic script (<script src>), not a module.
  "use strict";
  /** What the server defines and what the page exposes to its tests and to the console. */
  const page = /** @type {Window & { NETMON_THEME: Theme, cy?: cytoscape.Core, netmonUi?: object }} */ (
    /** @type {unknown} */ (window)
  );
  const RED = page.NETMON_THEME.red;
  const COLORS = page.NETMON_THEME.verdicts;
  const params = new URLSearchParams(location.search);
  const refreshMs = Math.max(1000, Number(params.get("refresh") || 5) * 1000);
  const state = {
    /** @type {GraphSnapshot | null} */
    graph: null,
    /** @type {Selected | null} */
    selected: null,
    userMoved: false,
    inLayout: false,
    laidOut: false,
    updates: 0,
    detailsSeq: 0,
    timer: 0,
    details: null,
  };

  /** @param {string} id */
  function $(id) {
    const e = document.getElementById(id);
    if (e === null) throw new Error(`netmon page: no #${id}`);
    return e;
  }

  /**
   * Builds an element; strings become text nodes (never markup).
   * @param {string} tag
   * @param {string | null} [className]
   * @param {Child[]} [children]
   */
  function el(tag, className, children) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    for (const c of children || []) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  /** @param {[string, string | null | undefined][]} rows */
  function dl(rows) {
    const d = el("dl");
    for (const r of rows) {
      if (r[1] === null || r[1] === undefined || r[1] === "") continue;
      d.append(el("dt", null, [r[0]]), el("dd", null, [r[1]]));
    }
    return d;
  }

  /** @param {number | null | undefined} ms */
  function time(ms) {
    return ms ? new Date(ms).toLocaleTimeString() : "-";
  }
  /** @param {number | null | undefined} ms */
  function dateTime(ms) {
    return ms ? new Date(ms).toLocaleString() : "-";
  }
  /** @param {number} n @param {string} word */
  function plural(n, word) {
    return `${n} ${word}${n === 1 ? "" : "s"}`;
  }
  /** @param {unknown} err */
  function reason(err) {
    const message = err ? /** @type {{ message?: unknown }} */ (err).message : undefined;
    return String(message || err);
  }

  /** The ranks of src/graph/snapshot-types.ts EDGE_VERDICTS: the worse, the higher. */
  const VERDICT_RANK = {
    unjudged: 0,
    learning: 1,
    "allowed-policy": 2,
    "allowed-baseline": 3,
    unexpected: 4,
    blocked: 5,
  };
  /** Below this zoom a fitted map would shrink nodes to dots: it stays this big, and can be panned. */
  const MIN_FIT_ZOOM = 0.5;

  /** @type {cytoscape.StylesheetJson} */
  const STYLE = [
    {
      selector: "node",
      style: {
        label: "data(display)",
        "font-size": 11,
        "text-valign": "bottom",
        "text-halign": "center",
        "text-margin-y": 4,
        "background-color": "#4a78a8",
        width: 26,
        height: 26,
        "text-wrap": "ellipsis",
        "text-max-width": "180px",
        color: "#222",
      },
    },
    {
      selector: 'node[kind = "external"]',
      style: { shape: "round-rectangle", "background-color": "#8c8c8c", width: 22, height: 22 },
    },
    { selector: 'node[kind = "host"]', style: { shape: "hexagon", "background-color": "#444" } },
    {
      selector: 'node[kind = "sweep"]',
      style: { shape: "tag", "background-color": RED, width: 30, height: 22 },
    },
    {
      selector: "node[gone = 1]",
      style: {
        "background-opacity": 0.35,
        "border-width": 2,
        "border-style": "dashed",
        "border-color": "#666",
      },
    },
    {
      selector: 'node[kind = "project"]',
      style: {
        shape: "round-rectangle",
        "background-color": "#eef3f8",
        "border-width": 1,
        "border-color": "#9bb0c6",
        "text-valign": "top",
        "text-margin-y": -4,
        "font-weight": "bold",
        padding: "16px",
      },
    },
    { selector: "node[alerts > 0]", style: { "border-width": 4, "border-color": RED } },
    {
      selector: "edge",
      style: {
        "curve-style": "bezier",
        width: 2,
        "line-color": COLORS["allowed-policy"],
        "target-arrow-color": COLORS["allowed-policy"],
        "target-arrow-shape": "triangle",
        label: "data(label)",
        "font-size": 9,
        "text-rotation": "autorotate",
        "text-background-color": "#ffffff",
        "text-background-opacity": 0.85,
        // Zoomed far out, edge labels are not drawn at all rather than as a smear.
        "min-zoomed-font-size": 7,
        "text-wrap": "ellipsis",
        "text-max-width": "220px",
        color: "#333",
      },
    },
    {
      selector: 'edge[kind = "port-scan"], edge[kind = "sweep"]',
      style: { width: 5, "font-weight": "bold" },
    },
    {
      selector: 'edge[verdict = "allowed-baseline"]',
      style: { "line-color": COLORS["allowed-baseline"], "target-arrow-color": COLORS["allowed-baseline"] },
    },
    {
      selector: 'edge[verdict = "learning"], edge[verdict = "unjudged"]',
      style: { "line-color": COLORS.learning, "target-arrow-color": COLORS.learning, "line-style": "dotted" },
    },
    {
      selector: 'edge[verdict = "unexpected"]',
      style: { "line-color": RED, "target-arrow-color": RED, width: 3, color: RED },
    },
    {
      selector: 'edge[verdict = "blocked"]',
      style: {
        "line-color": RED,
        "target-arrow-color": RED,
        width: 3,
        "line-style": "dashed",
        "target-arrow-shape": "tee",
        color: RED,
      },
    },
    {
      selector: ":selected",
      style: { "overlay-color": "#1f77b4", "overlay-opacity": 0.25, "overlay-padding": 6 },
    },
  ];

  const cy = cytoscape({ container: $("cy"), elements: [], style: STYLE, minZoom: 0.1, maxZoom: 4 });
  page.cy = cy;
  // Once the operator pans or zooms, refreshes stop fitting the map to the window.
  cy.on("viewport", () => {
    if (!state.inLayout) state.userMoved = true;
  });

  /** @param {GraphNode} n */
  function nodeData(n) {
    /** @type {Record<string, string | number>} */
    const d = { id: n.id, kind: n.kind, label: n.label, alerts: n.alerts || 0, gone: n.gone ? 1 : 0 };
    if (n.parent) d.parent = n.parent;
    let display = n.label;
    if (n.gone) display += " (gone)";
    if (n.alerts) display += ` (${plural(n.alerts, "alert")})`;
    d.display = display;
    return d;
  }

  /** @param {GraphEdge} e */
  function edgeData(e) {
    return { id: e.id, source: e.source, target: e.target, verdict: e.verdict, kind: e.kind, label: e.label };
  }

  /**
   * Places nodes that are new to the map next to a neighbour already placed (else next to the map),
   * on the first free spot of a spiral around it: a refresh moves no known node.
   * @param {cytoscape.NodeCollection} added
   */
  function placeNew(added) {
    /** @type {{ x: number, y: number }[]} */
    const taken = cy
      .nodes(":childless")
      .difference(added)
      .nodes()
      .map((n) => ({ ...n.position() }));
    const box = taken.length > 0 ? cy.nodes().difference(added).boundingBox({}) : { x2: 0, y1: 0, y2: 0 };
    // A node outside any project stays out of the project boxes too.
    const boxes = cy
      .nodes(":parent")
      .difference(added)
      .nodes()
      .map((n) => n.boundingBox({}));
    /** @param {{ x: number, y: number }} p @param {boolean} child */
    const free = (p, child) =>
      taken.every((q) => Math.abs(q.x - p.x) > 70 || Math.abs(q.y - p.y) > 50) &&
      (child || boxes.every((b) => p.x < b.x1 - 40 || p.x > b.x2 + 40 || p.y < b.y1 - 40 || p.y > b.y2 + 40));
    added.forEach((n) => {
      if (n.isParent()) return;
      const child = n.isChild();
      const anchor = n.neighborhood().nodes().difference(added).nodes().first();
      const at = anchor.nonempty() ? anchor.position() : { x: box.x2 + 90, y: (box.y1 + box.y2) / 2 };
      let p = at;
      for (let i = anchor.nonempty() ? 1 : 0; i < 400; i++) {
        const angle = i * 2.4;
        const r = 90 + 12 * i;
        p = i === 0 ? at : { x: at.x + r * Math.cos(angle), y: at.y + r * Math.sin(angle) };
        if (free(p, child)) break;
      }
      n.position(p);
      taken.push(p);
    });
  }

  /**
   * The first time, a force-directed layout of everything; after that only the new nodes are placed.
   * @param {cytoscape.NodeCollection} added
   */
  function layout(added) {
    state.inLayout = true;
    try {
      if (state.laidOut) placeNew(added);
      else
        cy.layout({
          name: "cose",
          animate: false,
          randomize: true,
          fit: false,
          padding: 30,
          nodeDimensionsIncludeLabels: true,
          // Long labels (a scan's) get an edge long enough to carry them.
          idealEdgeLength: (edge) => Math.max(110, String(edge.data("label") || "").length * 6),
          nodeRepulsion: () => 9000,
        }).run();
      if (!state.userMoved) {
        cy.fit(undefined, 30);
        // A handful of nodes fitted to the window would be drawn huge, hundreds as dots.
        if (cy.zoom() > 1.5) cy.zoom(1.5);
        if (cy.zoom() < MIN_FIT_ZOOM) cy.zoom(MIN_FIT_ZOOM);
        cy.center();
      }
    } finally {
      state.inLayout = false;
    }
    state.laidOut = true;
  }

  /**
   * Adds, removes and updates elements in place; lays out again only when the set of elements changed.
   * @param {GraphSnapshot} g
   */
  function apply(g) {
    /** @type {Map<string, Wanted>} */
    const wanted = new Map();
    for (const n of g.nodes) wanted.set(n.id, { group: "nodes", data: nodeData(n) });
    for (const e of g.edges) wanted.set(e.id, { group: "edges", data: edgeData(e) });
    let changed = false;
    /** @type {string[]} */
    const addedIds = [];
    cy.batch(() => {
      const gone = cy.elements().filter((ele) => {
        const w = wanted.get(ele.id());
        return !w || (w.group === "nodes" && (ele.data("parent") || null) !== (w.data.parent || null));
      });
      if (gone.nonempty()) {
        changed = true;
        cy.remove(gone);
      }
      /** @type {Wanted[]} */
      const add = [];
      wanted.forEach((w, id) => {
        const ex = cy.getElementById(id);
        if (ex.empty()) {
          add.push(w);
          return;
        }
        /** @type {Record<string, string | number>} */
        const upd = {};
        for (const k of Object.keys(w.data)) {
          if (k !== "id" && k !== "source" && k !== "target" && k !== "parent")
            upd[k] = /** @type {string | number} */ (w.data[k]);
        }
        ex.data(upd);
      });
      if (add.length > 0) {
        changed = true;
        // Parents before children, nodes before edges.
        /** @param {Wanted} x */
        const rank = (x) => (x.group === "edges" ? 2 : x.data.kind === "project" ? 0 : 1);
        add.sort((a, b) => rank(a) - rank(b));
        cy.add(/** @type {cytoscape.ElementDefinition[]} */ (add));
        for (const a of add) if (a.group === "nodes") addedIds.push(String(a.data.id));
      }
    });
    const added = cy.nodes().filter((n) => addedIds.includes(n.id()));
    // Only new nodes need a place; removals and updates move nothing.
    if (added.nonempty() || !state.laidOut) layout(added);
    else if (changed && !state.userMoved && cy.zoom() < MIN_FIT_ZOOM) cy.zoom(MIN_FIT_ZOOM);
    if (state.selected) {
      const sel = cy.getElementById(state.selected.id);
      if (sel.nonempty() && !sel.selected()) {
        cy.elements().unselect();
        sel.select();
      }
    }
  }

  /** What the header counts: endpoints (not the project boxes), edges, and the connections they carry. */
  /** @param {GraphSnapshot} g */
  function summary(g) {
    const bad = g.edges.filter((e) => e.verdict === "unexpected" || e.verdict === "blocked").length;
    const win = g.windowMs === null ? "all connections" : `last ${Math.round(g.windowMs / 60000)} min`;
    const endpoints = g.nodes.filter((n) => n.kind !== "project").length;
    const connections = g.edges.reduce((sum, e) => sum + e.connections, 0);
    let text = `${plural(endpoints, "endpoint")}, ${plural(g.edges.length, "edge")} (${bad} unexpected or blocked), ${plural(connections, "connection")}, ${win}`;
    if (g.stats.evictedNodes + g.stats.evictedEdges > 0)
      text += `; caps reached: ${g.stats.evictedNodes} nodes, ${g.stats.evictedEdges} edges dropped`;
    return text;
  }

  async function refresh() {
    clearTimeout(state.timer);
    try {
      const r = await fetch("/api/graph", { cache: "no-store" });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const g = /** @type {GraphSnapshot} */ (await r.json());
      state.graph = g;
      apply(g);
      selectLinkedContainer(g);
      $("summary").textContent = summary(g);
      $("status").textContent = `updated ${time(Date.now())}`;
      $("status").className = "";
      state.updates++;
      document.body.dataset.updates = String(state.updates);
      document.body.dataset.state = "ready";
      await renderPanel();
    } catch (err) {
      $("status").textContent = `cannot read the map from netmon (${reason(err)}); retrying`;
      $("status").className = "error";
      document.body.dataset.state = "error";
    } finally {
      state.timer = setTimeout(refresh, refreshMs);
    }
  }

  /** `/ui?container=<id>` (an alert's generatorURL): select that container's node once, when it is on the map. */
  let linkedContainer = params.get("container");
  /** @param {GraphSnapshot} g */
  function selectLinkedContainer(g) {
    const want = linkedContainer;
    if (!want || state.selected) return;
    const node = g.nodes.find((n) => (n.containers || []).some((c) => c.id.startsWith(want)));
    if (!node) return;
    linkedContainer = null;
    state.selected = { type: "node", id: node.id };
    cy.getElementById(node.id).select();
  }

  /** @param {string} id */
  function findNode(id) {
    return state.graph ? state.graph.nodes.find((n) => n.id === id) : undefined;
  }
  /** @param {string} id */
  function findEdge(id) {
    return state.graph ? state.graph.edges.find((e) => e.id === id) : undefined;
  }
  /** @param {string} id */
  function labelOf(id) {
    const n = findNode(id);
    return n ? n.label : id;
  }

  /** @param {EdgeVerdict} v */
  function verdictBadge(v) {
    return el("span", `verdict ${v}`, [v]);
  }

  /** The label of a node id, also of one no longer on the map (a sweep's targets): its id without the kind. */
  /** @param {string} id */
  function peerLabel(id) {
    const n = findNode(id);
    return n ? n.label : id.replace(/^(workload|dns|net|sweep):/, "");
  }

  /**
   * A node's connections, one entry per peer (both directions together), the worst first.
   * @param {GraphNode} node
   */
  function connectionsOf(node) {
    const all = state.graph ? state.graph.edges : [];
    /** @type {Map<string, GraphEdge[]>} */
    const byPeer = new Map();
    for (const e of all) {
      if (e.source !== node.id && e.target !== node.id) continue;
      const peer = e.source === node.id ? e.target : e.source;
      const list = byPeer.get(peer) || [];
      list.push(e);
      byPeer.set(peer, list);
    }
    if (byPeer.size === 0) return el("p", "muted", ["none in the window"]);
    /** @param {GraphEdge[]} list */
    const worst = (list) => Math.max(...list.map((e) => VERDICT_RANK[e.verdict]));
    const peers = [...byPeer.entries()].sort(
      (a, b) => worst(b[1]) - worst(a[1]) || (peerLabel(a[0]) < peerLabel(b[0]) ? -1 : 1),
    );
    const ul = el("ul", "peers");
    for (const [peer, edges] of peers) {
      const lines = edges.map((e) =>
        el("div", null, [
          `${e.source === node.id ? "\u2192" : "\u2190"} ${e.label} `,
          verdictBadge(e.verdict),
        ]),
      );
      ul.append(el("li", "peer", [el("strong", null, [peerLabel(peer)]), ...lines]));
    }
    return ul;
  }

  /**
   * The containers of a workload, those gone marked so.
   * @param {GraphContainer[]} containers
   */
  function containersList(containers) {
    const ul = el("ul", "containers");
    for (const c of containers)
      ul.append(
        el("li", c.gone ? "gone" : null, [
          `${c.name} (${c.id.slice(0, 12)})`,
          c.gone ? " \u2014 gone" : null,
        ]),
      );
    return ul;
  }

  /**
   * An edge's ports (at most the snapshot's list) and what happened on each.
   * @param {GraphEdge} e
   */
  function portsTable(e) {
    const t = el("table", "ports");
    t.append(
      el("tr", null, [
        el("th", null, ["port"]),
        el("th", null, ["conn."]),
        el("th", null, ["failed"]),
        el("th", null, ["verdict"]),
      ]),
    );
    for (const p of e.ports)
      t.append(
        el("tr", null, [
          el("td", null, [`${p.proto}/${p.port}${p.open ? " open" : ""}`]),
          el("td", null, [String(p.connections)]),
          el("td", null, [String(p.failed)]),
          el("td", null, [verdictBadge(p.verdict)]),
        ]),
      );
    return t;
  }

  /** @param {ContainerDetailsAlert[]} alerts */
  function alertsSection(alerts) {
    const box = el("div", "alerts");
    box.append(el("h3", null, [`Active alerts (${alerts.length})`]));
    if (alerts.length === 0) {
      box.append(el("p", "muted", ["none"]));
      return box;
    }
    const ul = el("ul");
    for (const a of alerts) {
      const action = a.action !== "none" ? `, action: ${a.action}` : "";
      const container = a.container ? `, container ${a.container}` : "";
      ul.append(
        el("li", `alert ${a.severity}`, [
          el("span", "sev", [a.severity]),
          " ",
          a.detector,
          el("br"),
          a.summary,
          el("br"),
          el("span", "muted", [
            `\u00d7${a.count}, first ${time(a.firstSeen)}, last ${time(a.lastSeen)}${action}${container}`,
          ]),
        ]),
      );
    }
    box.append(ul);
    return box;
  }

  /** @param {ContainerDetails} d */
  function detailsView(d) {
    const frag = el("div", "details");
    const networks = d.networks.map((n) => `${n.name} ${[n.ipv4, n.ipv6].filter(Boolean).join(" ")}`);
    const mode =
      d.mode.effective +
      (d.mode.effective !== d.mode.configured ? ` (configured: ${d.mode.configured})` : "");
    frag.append(
      el("h3", null, ["Container"]),
      dl([
        ["name", d.name],
        ["image", d.image],
        ["id", d.id.slice(0, 12)],
        ["workload", d.workload],
        ["state", d.running ? `running since ${dateTime(d.startedAt)}` : "stopped"],
        ["networks", networks.join(", ")],
        ["mode", mode],
        ["learning until", d.mode.learningUntil ? dateTime(d.mode.learningUntil) : null],
      ]),
    );
    if (d.blocks.length > 0) {
      const bl = el("ul");
      for (const b of d.blocks)
        bl.append(el("li", null, [`${b.block} until ${dateTime(b.expiresAt)}: ${b.reason}`]));
      frag.append(el("h3", null, [`Active blocks (${d.blocks.length})`]), bl);
    }
    frag.append(el("h3", null, ["Policy"]));
    const keys = Object.keys(d.labels).sort();
    if (keys.length === 0) frag.append(el("p", "muted", ["no netmon labels"]));
    else {
      const t = el("table", "labels");
      for (const k of keys) {
        const v = d.labels[k];
        t.append(
          el("tr", null, [
            el("td", null, [k]),
            el("td", v === "" ? "muted" : null, [v === "" ? "(empty)" : v]),
          ]),
        );
      }
      frag.append(t);
    }
    if (d.otherLabels > 0)
      frag.append(el("p", "muted", [`${plural(d.otherLabels, "other label")} not shown`]));
    frag.append(dl([["declared ports", d.policy.declaredPorts.join(", ") || "none"]]));
    if (d.policy.warnings.length > 0) {
      const w = el("ul", "error");
      for (const x of d.policy.warnings) w.append(el("li", null, [x]));
      frag.append(w);
    }
    frag.append(el("h3", null, ["Baseline"]));
    if (!d.baseline) frag.append(el("p", "muted", ["nothing learned"]));
    else {
      frag.append(
        dl([
          ["first seen", dateTime(d.baseline.firstSeen)],
          ["listen", d.baseline.listen.join(", ") || "none"],
        ]),
      );
      const eg = el("ul", "baseline-egress");
      for (const x of d.baseline.egress) {
        const p = x.split("|");
        eg.append(el("li", null, [p.length === 3 ? `${p[0]} ${p[1]}/${p[2]}` : x]));
      }
      if (d.baseline.egress.length === 0) eg.append(el("li", "muted", ["no egress learned"]));
      frag.append(eg);
      if (d.baseline.dropped > 0)
        frag.append(el("p", "muted", [`${d.baseline.dropped} entries dropped at the cap`]));
    }
    return frag;
  }

  async function renderPanel() {
    const panel = $("panel");
    const sel = state.selected;
    const seq = ++state.detailsSeq;
    const keepScroll = panel.scrollTop;
    if (!sel) {
      panel.replaceChildren(
        el("p", "hint", ["Select a container, a destination or a connection for details."]),
      );
      panel.dataset.state = "empty";
      delete panel.dataset.container;
      return;
    }
    if (sel.type === "edge") {
      const e = findEdge(sel.id);
      if (!e) {
        panel.replaceChildren(el("p", "muted", ["this connection left the window"]));
        panel.dataset.state = "gone";
        return;
      }
      const verdicts = Object.entries(e.verdicts)
        .map(([v, n]) => `${v} ${n}`)
        .join(", ");
      const more =
        e.portCount > e.ports.length || e.morePorts
          ? `first ${e.ports.length} of ${e.portCount}${e.morePorts ? "+" : ""}`
          : null;
      const parts = [
        el("h2", null, [`${labelOf(e.source)} \u2192 ${labelOf(e.target)}`]),
        verdictBadge(e.verdict),
        el("p", null, [e.label]),
        dl([
          ["ports", e.portRanges],
          ["open ports", String(e.openPorts)],
          ["connections", String(e.connections)],
          ["failed", String(e.failed)],
          ["by verdict", verdicts],
          ["first seen", dateTime(e.firstSeen)],
          ["last seen", dateTime(e.lastSeen)],
        ]),
      ];
      if (e.targets) {
        const tl = el("ul", "targets");
        for (const t of e.targets) tl.append(el("li", null, [peerLabel(t)]));
        parts.push(el("h3", null, [`Hosts tried (${e.targets.length})`]), tl);
      } else parts.push(el("h3", null, [more ? `Ports (${more})` : "Ports"]), portsTable(e));
      panel.replaceChildren(...parts);
      panel.dataset.state = "edge";
      return;
    }
    const n = findNode(sel.id);
    if (!n) {
      panel.replaceChildren(el("p", "muted", ["this node left the window"]));
      panel.dataset.state = "gone";
      return;
    }
    const kind = n.kind === "external" ? `external (${n.group === "dns" ? "DNS name" : "network"})` : n.kind;
    const head = [
      el("h2", null, [n.label]),
      dl([
        ["kind", kind],
        ["workload", n.workload],
        ["project", n.project],
        ["state", n.gone ? "gone: none of its containers runs" : null],
        ["last seen", dateTime(n.lastSeen)],
      ]),
    ];
    // Active alerts first (they come with the container's details), then who it talks to.
    const rest = [el("h3", null, ["Connections"]), connectionsOf(n)];
    if (n.containers && n.containers.length > 0) {
      rest.push(el("h3", null, [`Containers (${n.containers.length})`]), containersList(n.containers));
    }
    const container = n.containers ? n.containers.find((c) => !c.gone) : undefined;
    if (!container) {
      panel.replaceChildren(...head, ...rest);
      panel.dataset.state = n.kind;
      delete panel.dataset.container;
      return;
    }
    if (panel.dataset.container !== container.id) {
      panel.replaceChildren(...head, el("p", "muted", ["loading alerts…"]), ...rest);
      panel.dataset.state = "loading";
    }
    let alerts = null;
    let body;
    try {
      const r = await fetch(`/api/container/${encodeURIComponent(container.id)}`, { cache: "no-store" });
      if (r.status === 404) body = el("p", "muted", [`container ${container.name} is gone`]);
      else if (!r.ok) throw new Error(`HTTP ${r.status}`);
      else {
        const d = /** @type {ContainerDetails} */ (await r.json());
        alerts = alertsSection(d.alerts);
        body = detailsView(d);
      }
    } catch (err) {
      body = el("p", "error", [`cannot read the container details (${reason(err)})`]);
    }
    if (seq !== state.detailsSeq) return; // a newer selection or refresh won
    panel.replaceChildren(...head, ...(alerts ? [alerts] : []), ...rest, body);
    panel.dataset.state = "loaded";
    panel.dataset.container = container.id;
    panel.scrollTop = keepScroll;
  }

  /** @param {Selected | null} sel */
  function select(sel) {
    state.selected = sel;
    renderPanel();
  }

  cy.on("tap", "node", (ev) => select({ type: "node", id: ev.target.id() }));
  cy.on("tap", "edge", (ev) => select({ type: "edge", id: ev.target.id() }));
  cy.on("tap", (ev) => {
    if (ev.target === cy) select(null);
  });

  page.netmonUi = { refresh, state, select };
  renderPanel();
  refresh();
})();
