// The lineage graph: a layered (Sugiyama-style) left-to-right layout drawn
// in SVG, with pan (drag) and zoom (wheel).
//
// Layout, all in O((V + E) log V) per pass, no DOM measurement:
//   1. ranks: around a root, the longest path to it (upstream) or from it
//      (downstream); without one, the longest path from the sources, with
//      the sources pulled right next to their first consumer (cycles, which
//      Servo refuses anyway, are broken by ignoring back edges);
//   2. edges spanning several ranks get a dummy vertex per rank crossed;
//   3. vertices are ordered within ranks by barycenter sweeps, keeping the
//      order with the fewest crossings (counted with a Fenwick tree);
//   4. y coordinates: each sweep moves every vertex towards the mean of its
//      neighbours' y, keeping the order and the spacing, by isotonic
//      regression (pool adjacent violators), which is exact and linear.
// Rendering builds every element once, into a fragment; highlighting a
// node touches only its own edges.

import { s } from "./dom.js";

// EDGE_TYPES tells the dependency types apart by colour and dash.
export const EDGE_TYPES = [
  { type: "data", color: "#2563eb", dash: "", width: 1.6 },
  { type: "metadata", color: "#9333ea", dash: "7 5", width: 1.6 },
  { type: "control", color: "#ea580c", dash: "2 4", width: 2.2 },
];
const EDGE_STYLE = new Map(EDGE_TYPES.map((t) => [t.type, t]));
const OTHER_EDGE = { type: "other", color: "#64748b", dash: "", width: 1.4 };

export const NODE_W = 220;
export const NODE_H = 44;
const COL_GAP = 100;
const ROW_GAP = 14;
const DUMMY_H = 4;
const LABEL_FONT = "600 12.5px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const LABEL_MAX = NODE_W - 26;

// layout places graph = {nodes: [{id, root}], edges: [{from, to}]}; the
// node with root set, if any, anchors the ranks. It answers
// {pos: Map(id -> {x, y}) (top-left corners), paths: [points per edge, or
// null], width, height}.
export function layout(graph) {
  const nodes = graph.nodes;
  const n = nodes.length;
  const index = new Map(nodes.map((nd, i) => [nd.id, i]));

  // Layout edges: one per ordered pair, whatever the types.
  const pairs = new Map();
  const lEdges = [];
  const edgeToL = graph.edges.map((e) => {
    const u = index.get(e.from);
    const v = index.get(e.to);
    if (u === undefined || v === undefined || u === v) return -1;
    const key = u * n + v;
    let li = pairs.get(key);
    if (li === undefined) {
      li = lEdges.length;
      pairs.set(key, li);
      lEdges.push([u, v]);
    }
    return li;
  });

  // 1. Topological order (Kahn); a cycle is broken at its first vertex.
  const out = Array.from({ length: n }, () => []);
  const indeg = new Int32Array(n);
  for (const [u, v] of lEdges) {
    out[u].push(v);
    indeg[v]++;
  }
  const order = [];
  const placed = new Uint8Array(n);
  const queue = [];
  for (let i = 0; i < n; i++) if (indeg[i] === 0) queue.push(i);
  let next = 0;
  while (order.length < n) {
    if (queue.length === 0) {
      while (placed[next]) next++;
      queue.push(next);
      indeg[next] = 0;
    }
    const v = queue.pop();
    if (placed[v]) continue;
    placed[v] = 1;
    order.push(v);
    for (const w of out[v]) if (!placed[w] && --indeg[w] === 0) queue.push(w);
  }
  const topo = new Int32Array(n);
  order.forEach((v, i) => (topo[v] = i));
  // Orient every layout edge forwards in that order.
  const fwd = lEdges.map(([u, v]) => (topo[u] < topo[v] ? [u, v] : [v, u]));
  const succ = Array.from({ length: n }, () => []);
  const predCount = new Int32Array(n);
  for (const [a, b] of fwd) {
    succ[a].push(b);
    predCount[b]++;
  }
  const rank = new Int32Array(n);
  const rootIdx = graph.nodes.findIndex((nd) => nd.root);
  if (rootIdx >= 0) {
    // Around a root, the rank is the longest path to the root (ancestors,
    // negative) or from it (descendants): each asset sits as close to the
    // root as its edges allow, so no side is stretched towards the sources
    // or the sinks.
    const toRoot = new Int32Array(n).fill(-1);
    const fromRoot = new Int32Array(n).fill(-1);
    toRoot[rootIdx] = 0;
    fromRoot[rootIdx] = 0;
    for (let i = n - 1; i >= 0; i--) {
      const v = order[i];
      for (const w of succ[v]) if (toRoot[w] >= 0) toRoot[v] = Math.max(toRoot[v], toRoot[w] + 1);
    }
    for (const v of order) {
      if (fromRoot[v] >= 0) for (const w of succ[v]) fromRoot[w] = Math.max(fromRoot[w], fromRoot[v] + 1);
    }
    const placedRank = new Uint8Array(n);
    for (let v = 0; v < n; v++) {
      if (toRoot[v] >= 0) rank[v] = -toRoot[v];
      else if (fromRoot[v] >= 0) rank[v] = fromRoot[v];
      else continue;
      placedRank[v] = 1;
    }
    // Anything neither upstream nor downstream (not in a lineage answer,
    // but the layout stays general) follows its neighbours.
    const pred = Array.from({ length: n }, () => []);
    for (const [a, b] of fwd) pred[b].push(a);
    for (const v of order) {
      const ps = pred[v].filter((u) => placedRank[u]);
      if (!placedRank[v] && ps.length) {
        rank[v] = Math.max(...ps.map((u) => rank[u])) + 1;
        placedRank[v] = 1;
      }
    }
    for (let i = n - 1; i >= 0; i--) {
      const v = order[i];
      const ws = succ[v].filter((w) => placedRank[w]);
      if (!placedRank[v] && ws.length) {
        rank[v] = Math.min(...ws.map((w) => rank[w])) - 1;
        placedRank[v] = 1;
      }
    }
    // Every edge points right.
    for (const v of order) for (const w of succ[v]) if (rank[w] <= rank[v]) rank[w] = rank[v] + 1;
  } else {
    for (const v of order) for (const w of succ[v]) rank[w] = Math.max(rank[w], rank[v] + 1);
    for (let i = n - 1; i >= 0; i--) {
      const v = order[i];
      if (predCount[v] === 0 && succ[v].length > 0) {
        let m = Infinity;
        for (const w of succ[v]) m = Math.min(m, rank[w]);
        rank[v] = m - 1;
      }
    }
  }
  let minRank = Infinity;
  let maxRank = 0;
  for (let i = 0; i < n; i++) minRank = Math.min(minRank, rank[i]);
  if (n === 0) minRank = 0;
  for (let i = 0; i < n; i++) {
    rank[i] -= minRank;
    maxRank = Math.max(maxRank, rank[i]);
  }

  // 2. Vertices: the nodes, then one dummy per rank an edge crosses.
  const vRank = Array.from(rank);
  const vDummy = new Array(n).fill(false);
  const up = Array.from({ length: n }, () => []); // [vertex, weight]
  const dn = Array.from({ length: n }, () => []);
  const link = (p, q) => {
    const w = vDummy[p] && vDummy[q] ? 8 : vDummy[p] || vDummy[q] ? 2 : 1;
    dn[p].push([q, w]);
    up[q].push([p, w]);
  };
  const chains = fwd.map(([a, b]) => {
    const chain = [a];
    for (let r = rank[a] + 1; r < rank[b]; r++) {
      const d = vRank.length;
      vRank.push(r);
      vDummy.push(true);
      up.push([]);
      dn.push([]);
      chain.push(d);
    }
    chain.push(b);
    for (let i = 1; i < chain.length; i++) link(chain[i - 1], chain[i]);
    return chain;
  });
  const V = vRank.length;
  const layers = Array.from({ length: maxRank + 1 }, () => []);
  for (let v = 0; v < V; v++) layers[vRank[v]].push(v);

  // 3. Order within ranks.
  const pos = new Float64Array(V);
  const setPos = () => layers.forEach((L) => L.forEach((v, i) => (pos[v] = i)));
  setPos();
  const sweep = (L, nb) => {
    const key = new Float64Array(L.length);
    L.forEach((v, i) => {
      const list = nb[v];
      if (list.length === 0) {
        key[i] = pos[v];
        return;
      }
      // Median of the neighbours' positions: robust to one far neighbour.
      const ps = list.map(([u]) => pos[u]).sort((a, b) => a - b);
      const m = ps.length >> 1;
      key[i] = ps.length % 2 ? ps[m] : (ps[m - 1] + ps[m]) / 2;
    });
    const idx = L.map((_, i) => i).sort((a, b) => key[a] - key[b] || a - b);
    const sorted = idx.map((i) => L[i]);
    sorted.forEach((v, i) => {
      L[i] = v;
      pos[v] = i;
    });
  };
  const crossings = () => {
    let total = 0;
    for (let r = 0; r + 1 < layers.length; r++) {
      const pairsList = [];
      for (const v of layers[r]) for (const [w] of dn[v]) pairsList.push([pos[v], pos[w]]);
      pairsList.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      const size = layers[r + 1].length;
      const tree = new Int32Array(size + 1);
      let seen = 0;
      for (const [, q] of pairsList) {
        // Count earlier edges that end below q: they cross this one.
        let le = 0;
        for (let i = q + 1; i > 0; i -= i & -i) le += tree[i];
        total += seen - le;
        for (let i = q + 1; i <= size; i += i & -i) tree[i]++;
        seen++;
      }
    }
    return total;
  };
  // pairCross counts the crossings between the edges of u and those of v
  // (u left of v) on both sides, were u kept before v.
  const pairCross = (u, v) => {
    let c = 0;
    for (const nb of [up, dn]) {
      for (const [a] of nb[u]) for (const [b] of nb[v]) if (pos[a] > pos[b]) c++;
    }
    return c;
  };
  // transpose swaps neighbours in a rank while that removes crossings.
  const transpose = () => {
    for (let pass = 0, improved = true; improved && pass < 6; pass++) {
      improved = false;
      for (const L of layers) {
        for (let i = 0; i + 1 < L.length; i++) {
          const u = L[i];
          const v = L[i + 1];
          if (pairCross(u, v) > pairCross(v, u)) {
            L[i] = v;
            L[i + 1] = u;
            pos[v] = i;
            pos[u] = i + 1;
            improved = true;
          }
        }
      }
    }
  };
  let best = layers.map((L) => L.slice());
  let bestCross = crossings();
  for (let it = 0, stale = 0; it < 24 && stale < 4 && bestCross > 0; it++) {
    if (it % 2 === 0) for (let r = 1; r < layers.length; r++) sweep(layers[r], up);
    else for (let r = layers.length - 2; r >= 0; r--) sweep(layers[r], dn);
    if (V <= 6000) transpose();
    const c = crossings();
    if (c < bestCross) {
      bestCross = c;
      best = layers.map((L) => L.slice());
      stale = 0;
    } else stale++;
  }
  best.forEach((L, r) => (layers[r] = L));
  setPos();

  // 4. y coordinates (centres).
  const height = (v) => (vDummy[v] ? DUMMY_H : NODE_H);
  const gap = (a, b) => (vDummy[a] && vDummy[b] ? 6 : vDummy[a] || vDummy[b] ? 10 : ROW_GAP);
  const offsets = layers.map((L) => {
    const off = new Float64Array(L.length);
    for (let i = 1; i < L.length; i++) off[i] = off[i - 1] + (height(L[i - 1]) + height(L[i])) / 2 + gap(L[i - 1], L[i]);
    return off;
  });
  const y = new Float64Array(V);
  layers.forEach((L, r) => {
    const off = offsets[r];
    const mid = L.length ? off[L.length - 1] / 2 : 0;
    L.forEach((v, i) => (y[v] = off[i] - mid));
  });
  const place = (r, nbs) => {
    const L = layers[r];
    const off = offsets[r];
    const z = new Float64Array(L.length);
    L.forEach((v, i) => {
      let sum = 0;
      let wsum = 0;
      for (const nb of nbs) {
        for (const [u, w] of nb[v]) {
          sum += w * y[u];
          wsum += w;
        }
      }
      z[i] = (wsum ? sum / wsum : y[v]) - off[i];
    });
    // Pool adjacent violators: the nondecreasing fit closest to z.
    const val = [];
    const cnt = [];
    for (let i = 0; i < z.length; i++) {
      val.push(z[i]);
      cnt.push(1);
      while (val.length > 1 && val[val.length - 2] > val[val.length - 1]) {
        const c2 = cnt.pop();
        const v2 = val.pop();
        const c1 = cnt[cnt.length - 1];
        val[val.length - 1] = (val[val.length - 1] * c1 + v2 * c2) / (c1 + c2);
        cnt[cnt.length - 1] = c1 + c2;
      }
    }
    let i = 0;
    val.forEach((v, b) => {
      for (let k = 0; k < cnt[b]; k++, i++) y[L[i]] = v + off[i];
    });
  };
  for (let it = 0; it < 8; it++) {
    const both = it >= 6;
    for (let r = 1; r < layers.length; r++) place(r, both ? [up, dn] : [up]);
    for (let r = layers.length - 2; r >= 0; r--) place(r, both ? [up, dn] : [dn]);
  }

  let minY = Infinity;
  let maxY = -Infinity;
  for (let v = 0; v < V; v++) {
    minY = Math.min(minY, y[v] - height(v) / 2);
    maxY = Math.max(maxY, y[v] + height(v) / 2);
  }
  if (V === 0) minY = maxY = 0;
  const colX = (r) => r * (NODE_W + COL_GAP);
  const pos2 = new Map();
  nodes.forEach((nd, i) => pos2.set(nd.id, { x: colX(vRank[i]), y: y[i] - NODE_H / 2 - minY }));

  // Edge paths through their dummies; parallel edges of different types
  // between the same pair are fanned out a little.
  const fan = new Map();
  const fanIndex = graph.edges.map((e, i) => {
    const li = edgeToL[i];
    if (li < 0) return 0;
    const k = fan.get(li) || 0;
    fan.set(li, k + 1);
    return k;
  });
  const paths = graph.edges.map((e, i) => {
    const li = edgeToL[i];
    if (li < 0) return null;
    let chain = chains[li];
    const count = fan.get(li);
    const dy = (fanIndex[i] - (count - 1) / 2) * 5;
    if (chain[0] !== index.get(e.from)) chain = chain.slice().reverse();
    const pts = [];
    chain.forEach((v, k) => {
      const yy = y[v] - minY;
      const x = colX(vRank[v]);
      if (k === 0) pts.push([x + NODE_W, yy]);
      else if (k === chain.length - 1) pts.push([x, yy]);
      else pts.push([x, yy + dy], [x + NODE_W, yy + dy]);
    });
    return pts;
  });
  // Ports: the edges that leave (or enter) a node are spread along its
  // side in the order of where they go (or come from), so that arrows stay
  // apart and do not cross at the node.
  const spread = (ends) => {
    for (const list of ends.values()) {
      if (list.length < 2) continue;
      list.sort((a, b) => a[1] - b[1] || a[2] - b[2]);
      const step = Math.min(7, (NODE_H - 14) / (list.length - 1));
      list.forEach(([pt], k) => (pt[1] += (k - (list.length - 1) / 2) * step));
    }
  };
  const outs = new Map();
  const ins = new Map();
  graph.edges.forEach((e, i) => {
    const pts = paths[i];
    if (!pts) return;
    if (!outs.has(e.from)) outs.set(e.from, []);
    if (!ins.has(e.to)) ins.set(e.to, []);
    outs.get(e.from).push([pts[0], pts[1][1], i]);
    ins.get(e.to).push([pts[pts.length - 1], pts[pts.length - 2][1], i]);
  });
  spread(outs);
  spread(ins);
  return { pos: pos2, paths, width: colX(maxRank) + NODE_W, height: maxY - minY, crossings: bestCross };
}

// pathData draws points as horizontal-tangent curves between columns and
// straight runs across the columns a long edge passes through.
function pathData(pts) {
  let d = `M${pts[0][0].toFixed(1)},${pts[0][1].toFixed(1)}`;
  for (let i = 1; i < pts.length; i++) {
    const [x0, y0] = pts[i - 1];
    const [x1, y1] = pts[i];
    d += Math.abs(x1 - x0 - NODE_W) < 0.5 ? `L${x1.toFixed(1)},${y1.toFixed(1)}` : curve(x0, y0, x1, y1);
  }
  return d;
}

function curve(x0, y0, x1, y1) {
  const c = Math.max(24, (x1 - x0) / 2);
  return `C${(x0 + c).toFixed(1)},${y0.toFixed(1)} ${(x1 - c).toFixed(1)},${y1.toFixed(1)} ${x1.toFixed(1)},${y1.toFixed(1)}`;
}

let measureCtx = null;

// fitLabel shortens a label to maxWidth pixels by cutting its middle, which
// keeps a qualified name's schema and table ends readable.
export function fitLabel(text, maxWidth = LABEL_MAX, font = LABEL_FONT) {
  if (!measureCtx) {
    measureCtx = document.createElement("canvas").getContext("2d");
  }
  measureCtx.font = font;
  const w = (t) => measureCtx.measureText(t).width;
  if (w(text) <= maxWidth) return text;
  const chars = Array.from(text);
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const keep = Math.ceil((lo + hi) / 2);
    const head = Math.ceil(keep * 0.55);
    const cand = chars.slice(0, head).join("") + "\u2026" + chars.slice(chars.length - (keep - head)).join("");
    if (w(cand) <= maxWidth) lo = keep;
    else hi = keep - 1;
  }
  const head = Math.ceil(lo * 0.55);
  return chars.slice(0, head).join("") + "\u2026" + chars.slice(chars.length - (lo - head)).join("");
}

const DIR_MARK = { upstream: "\u2190", downstream: "\u2192" };

// renderGraph draws graph = {nodes: [{id, name, type, direction, depth,
// root}], edges: [{id, from, to, type}]} into container and answers a
// controller {fit(), focus(id), zoom(f), svg}. onSelect(node) is called
// when a node is clicked or activated with Enter.
export function renderGraph(container, graph, { onSelect } = {}) {
  const L = layout(graph);
  const byId = new Map(graph.nodes.map((nd) => [nd.id, nd]));
  const incident = new Map(graph.nodes.map((nd) => [nd.id, []]));

  const defs = s("defs");
  for (const t of [...EDGE_TYPES, OTHER_EDGE]) {
    defs.append(
      s("marker", { id: "arrow-" + t.type, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        s("path", { d: "M0,1 L9,5 L0,9 z", fill: t.color })),
    );
  }
  const edgeLayer = s("g", { class: "edges" });
  const nodeLayer = s("g", { class: "nodes" });
  const frag = document.createDocumentFragment();
  graph.edges.forEach((e, i) => {
    const pts = L.paths[i];
    if (!pts) return;
    const st = EDGE_STYLE.get(e.type) || OTHER_EDGE;
    const p = s("path", {
      class: ["edge", "edge-" + st.type], d: pathData(pts), fill: "none", stroke: st.color,
      "stroke-width": st.width, "stroke-dasharray": st.dash || null, "marker-end": `url(#arrow-${st.type})`,
      dataset: { from: e.from, to: e.to, type: e.type },
    }, s("title", { text: `${byId.get(e.from)?.name ?? e.from} \u2192 ${byId.get(e.to)?.name ?? e.to} (${e.type})` }));
    incident.get(e.from)?.push(p);
    incident.get(e.to)?.push(p);
    frag.append(p);
  });
  edgeLayer.append(frag);

  const nodeFrag = document.createDocumentFragment();
  const nodeEls = new Map();
  for (const nd of graph.nodes) {
    const p = L.pos.get(nd.id);
    const kind = nd.root ? "root" : nd.direction === "upstream" ? "up" : "down";
    const sub = [nd.type || "asset"];
    if (!nd.root && nd.depth) sub.push(`${DIR_MARK[nd.direction] || ""}${nd.depth}`);
    if (nd.global) sub.push("global");
    const g = s("g", {
      class: ["node", "node-" + kind], transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})`,
      tabindex: 0, role: "link", "aria-label": nd.name, dataset: { id: nd.id, name: nd.name, direction: nd.direction || "root" },
    },
    s("title", { text: `${nd.name}\n${sub.join(" \u00b7 ")}` }),
    s("rect", { class: "box", width: NODE_W, height: NODE_H, rx: 8, ry: 8 }),
    s("rect", { class: "accent", x: 0, y: 0, width: 5, height: NODE_H, rx: 2 }),
    s("text", { class: "label", x: 14, y: 19, text: fitLabel(nd.name) }),
    s("text", { class: "sub", x: 14, y: 35, text: sub.join(" \u00b7 ") }));
    nodeEls.set(nd.id, g);
    nodeFrag.append(g);
  }
  nodeLayer.append(nodeFrag);

  const viewport = s("g", { class: "viewport" }, edgeLayer, nodeLayer);
  const svg = s("svg", { class: "lineage", role: "group", "aria-label": `Lineage graph, ${graph.nodes.length} assets` }, defs, viewport);
  container.replaceChildren(svg);

  // Pan and zoom.
  let k = 1;
  let tx = 0;
  let ty = 0;
  const apply = () => {
    viewport.setAttribute("transform", `translate(${tx.toFixed(1)},${ty.toFixed(1)}) scale(${k.toFixed(4)})`);
    svg.classList.toggle("far", k < 0.5);
    svg.classList.toggle("tiny", k < 0.22);
  };
  const size = () => {
    const r = svg.getBoundingClientRect();
    return [r.width || 800, r.height || 500];
  };
  const zoomAt = (px, py, f) => {
    const k2 = Math.min(2.5, Math.max(0.08, k * f));
    tx = px - ((px - tx) * k2) / k;
    ty = py - ((py - ty) * k2) / k;
    k = k2;
    apply();
  };
  const PAD = 24;
  const fitScale = () => {
    const [w, hh] = size();
    return Math.min(1, (w - 2 * PAD) / Math.max(1, L.width), (hh - 2 * PAD) / Math.max(1, L.height));
  };
  const ctl = {
    svg,
    layout: L,
    fit() {
      const [w, hh] = size();
      k = Math.max(0.08, fitScale());
      tx = (w - L.width * k) / 2;
      ty = (hh - L.height * k) / 2;
      apply();
    },
    focus(id, scale = 0.9) {
      const p = L.pos.get(id);
      if (!p) return;
      const [w, hh] = size();
      k = scale;
      tx = w / 2 - (p.x + NODE_W / 2) * k;
      ty = hh / 2 - (p.y + NODE_H / 2) * k;
      apply();
    },
    zoom(f) {
      const [w, hh] = size();
      zoomAt(w / 2, hh / 2, f);
    },
    // initial fits the whole graph when its labels stay readable, and
    // centres the root otherwise.
    initial(rootId) {
      if (fitScale() >= 0.55 || !rootId) this.fit();
      else this.focus(rootId, 0.85);
    },
  };

  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = svg.getBoundingClientRect();
    const unit = ev.deltaMode === 1 ? 16 : ev.deltaMode === 2 ? 400 : 1;
    zoomAt(ev.clientX - r.left, ev.clientY - r.top, Math.exp(-ev.deltaY * unit * 0.0015));
  }, { passive: false });

  let drag = null;
  let dragged = false;
  svg.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    dragged = false;
    drag = { x: ev.clientX, y: ev.clientY, tx, ty, id: ev.pointerId, active: false };
  });
  svg.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x;
    const dy = ev.clientY - drag.y;
    if (!drag.active && Math.hypot(dx, dy) > 4) {
      drag.active = true;
      svg.setPointerCapture(drag.id);
      svg.classList.add("dragging");
    }
    if (drag.active) {
      tx = drag.tx + dx;
      ty = drag.ty + dy;
      apply();
    }
  });
  const endDrag = () => {
    if (drag?.active) dragged = true;
    drag = null;
    svg.classList.remove("dragging");
  };
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);

  const select = (g) => {
    const nd = g && byId.get(g.dataset.id);
    if (nd && onSelect) onSelect(nd);
  };
  svg.addEventListener("click", (ev) => {
    if (dragged) {
      dragged = false;
      return;
    }
    select(ev.target.closest?.("g.node"));
  });
  svg.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") {
      const g = ev.target.closest?.("g.node");
      if (g) {
        ev.preventDefault();
        select(g);
      }
    }
  });

  // Hover: light up a node's own edges, dim the rest.
  let hovered = null;
  const setHover = (g) => {
    if (g === hovered) return;
    if (hovered) {
      hovered.classList.remove("hl");
      for (const p of incident.get(hovered.dataset.id) || []) p.classList.remove("hl");
    }
    hovered = g;
    svg.classList.toggle("hovering", Boolean(g));
    if (g) {
      g.classList.add("hl");
      for (const p of incident.get(g.dataset.id) || []) p.classList.add("hl");
    }
  };
  svg.addEventListener("pointerover", (ev) => {
    if (!drag?.active) setHover(ev.target.closest?.("g.node") || null);
  });
  svg.addEventListener("pointerleave", () => setHover(null));

  apply();
  return ctl;
}
