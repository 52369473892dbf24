// Servo's web console: a small hash-routed app over the JSON API.
//
//   #/signin                 paste an API key
//   #/assets?q=&type=&owner=&tag=&page=
//   #/assets/NAME?depth=&dir=&types=   details, lineage graph, runs
//   #/workflows, #/workflows/NAME?version=N
//   #/runs?status=&workflow=&asset=&page=, #/runs/ID
//   #/backfills?state=, #/backfills/ID   (backfills.js)
//
// Strings from the API reach the page only as text (see dom.js).

import { h, replace, fmtTime, fmtDuration, shortId, statusBadge, TERMINAL } from "./dom.js";
import { api, getKey, setKey, clearKey, onUnauthorized, seg, listPage, PAGE_SIZE } from "./api.js";
import { renderGraph, EDGE_TYPES } from "./graph.js";
import { fieldsPanel } from "./columns.js";
import { assetChecksCard, runChecksCard, markFailingChecks } from "./checks.js";
import { backfillsPage, backfillPage } from "./backfills.js";
import { schedulesPage, automationsPage, markStale } from "./orchestration.js";

const main = document.getElementById("main");
const navEl = document.getElementById("nav");
const sessionEl = document.getElementById("session");

const POLL_MS = 2000;
const STATUSES = ["pending", "running", "success", "failed", "skipped", "upstream_failed", "cancelled"];
const DIRECTIONS = ["both", "upstream", "downstream"];

// ---------------------------------------------------------------- routing

function decodeSafe(v) {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

function parseHash() {
  const raw = location.hash.replace(/^#/, "");
  const qi = raw.indexOf("?");
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const query = new URLSearchParams(qi < 0 ? "" : raw.slice(qi + 1));
  const parts = path.split("/").filter(Boolean).map(decodeSafe);
  return { parts: parts.length ? parts : ["assets"], query };
}

// link builds an in-app href from path parts (each escaped) and a query
// object (empty values dropped).
function link(parts, query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const qs = q.toString();
  return "#/" + parts.map(seg).join("/") + (qs ? "?" + qs : "");
}

function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

// A page's lifetime: leaving it stops its polls and drops late answers.
let current = null;

function newPage() {
  if (current) {
    current.alive = false;
    current.timers.forEach(clearTimeout);
  }
  current = { alive: true, timers: new Set() };
  return current;
}

// poll calls fn now and then every POLL_MS while the page lives, until fn
// answers false.
function poll(pg, fn) {
  const tick = async () => {
    if (!pg.alive) return;
    let again = true;
    try {
      again = (await fn()) !== false;
    } catch (err) {
      if (!pg.alive) return;
      toast(err.message, "error");
    }
    if (pg.alive && again) {
      const t = setTimeout(() => {
        pg.timers.delete(t);
        tick();
      }, POLL_MS);
      pg.timers.add(t);
    }
  };
  return tick();
}

function show(pg, ...children) {
  if (pg.alive) replace(main, ...children);
}

// ------------------------------------------------------------- page parts

function toast(message, kind = "info") {
  let box = document.getElementById("toasts");
  if (!box) {
    box = h("div", { id: "toasts", "aria-live": "polite" });
    document.body.append(box);
  }
  const t = h("div", { class: ["toast", "toast-" + kind], role: kind === "error" ? "alert" : "status" }, message);
  box.append(t);
  setTimeout(() => t.remove(), 5000);
}

function errorBox(err) {
  const title = err.status === 404 ? "Not found" : err.status === 0 ? "Network error" : `Error ${err.status || ""}`.trim();
  return h("div", { class: "alert", role: "alert" }, h("strong", {}, title + ": "), err.message || String(err));
}

function loading() {
  return h("p", { class: "muted loading" }, "Loading\u2026");
}

function pageHead(crumbs, title, ...extra) {
  return h("div", { class: "page-head" },
    crumbs.length ? h("nav", { class: "crumbs", "aria-label": "Breadcrumbs" }, crumbs.map(([label, href], i) => [i ? h("span", { class: "sep" }, "/") : null, h("a", { href }, label)])) : null,
    h("div", { class: "title-row" }, h("h1", { class: "title" }, title), h("div", { class: "head-extra" }, ...extra)));
}

function chips(tags, hrefFor) {
  return h("span", { class: "chips" }, (tags || []).map((t) => h("a", { class: "chip", href: hrefFor(t) }, t)));
}

function pager(res, hrefFor) {
  const range = res.total === null ? `${res.items.length} shown` : res.total === 0 ? "No results" : `${res.from}\u2013${res.to} of ${res.estimate ? "about " : ""}${res.total}`;
  return h("div", { class: "pager" },
    h("span", { class: "muted" }, range),
    res.prev !== null ? h("a", { class: "btn", href: hrefFor(res.prev), rel: "prev" }, "\u2190 Previous") : h("span", { class: "btn disabled" }, "\u2190 Previous"),
    res.next !== null ? h("a", { class: "btn", href: hrefFor(res.next), rel: "next" }, "Next \u2192") : h("span", { class: "btn disabled" }, "Next \u2192"));
}

function table(headers, rows, empty = "Nothing here yet.") {
  return h("table", { class: "grid" },
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { class: "empty", colspan: headers.length }, empty))));
}

function field(label, input) {
  return h("label", { class: "field" }, h("span", {}, label), input);
}

// runTarget links a run's workflow and/or asset (a workflow's step has both).
function runTarget(r) {
  const wf = r.workflow_name ? h("a", { href: link(["workflows", r.workflow_name], { version: r.workflow_version }) }, `${r.workflow_name} v${r.workflow_version}`) : null;
  const asset = r.asset_name ? h("a", { href: link(["assets", r.asset_name]) }, r.asset_name) : null;
  if (wf && asset) return h("span", {}, wf, h("span", { class: "muted" }, " \u203a "), asset);
  return wf || asset || h("span", { class: "muted" }, "\u2014");
}

function runRow(r) {
  return h("tr", { dataset: { runId: r.id } },
    h("td", {}, h("a", { class: "mono", href: link(["runs", r.id]) }, shortId(r.id))),
    h("td", {}, statusBadge(r.status)),
    h("td", {}, runTarget(r)),
    h("td", {}, r.trigger || ""),
    h("td", { class: "num" }, String(r.attempt ?? "")),
    h("td", {}, fmtTime(r.started_at)),
    h("td", {}, TERMINAL.has(r.status) || r.status === "running" ? fmtDuration(r.started_at, r.completed_at) : ""),
    h("td", { class: "err" }, r.error || ""));
}

const RUN_HEADERS = ["Run", "Status", "Target", "Trigger", "Attempt", "Started", "Duration", "Error"];

// ---------------------------------------------------------------- sign-in

function signInPage(pg, route, message) {
  const target = route.parts[0] === "signin" ? "#/assets" : location.hash || "#/assets";
  const input = h("input", { type: "password", id: "api-key", name: "key", autocomplete: "off", spellcheck: "false", placeholder: "servo_\u2026", required: true });
  const err = h("p", { class: "form-error", role: "alert" }, message || "");
  const btn = h("button", { type: "submit", class: "btn primary", id: "signin-submit" }, "Sign in");
  const form = h("form", {
    class: "signin card", id: "signin-form",
    on: {
      submit: async (ev) => {
        ev.preventDefault();
        const k = input.value.trim();
        if (!k) return;
        btn.disabled = true;
        err.textContent = "";
        try {
          await api("GET", "/assets", { query: { limit: 1 }, key: k });
          setKey(k);
          go(target);
        } catch (e) {
          err.textContent = e.status === 401 ? "That key was not accepted: it is unknown or revoked." : e.message;
        } finally {
          btn.disabled = false;
        }
      },
    },
  },
  h("h1", {}, "Sign in to Servo"),
  h("p", { class: "muted" }, "Paste an API key. It stays in this browser tab only (sessionStorage) and is sent as a Bearer token."),
  field("API key", input), err, btn,
  h("p", { class: "hint muted" }, "Create one with ", h("code", {}, "servo keys create --tenant ID"), "."));
  show(pg, h("div", { class: "center" }, form));
  input.focus();
}

// ----------------------------------------------------------------- assets

async function assetsPage(pg, route) {
  const q = route.query;
  const f = { q: q.get("q") || "", type: q.get("type") || "", owner: q.get("owner") || "", tag: q.get("tag") || "" };
  const hrefWith = (over) => link(["assets"], { ...f, ...over });
  const inputs = {
    q: h("input", { type: "search", name: "q", value: f.q, placeholder: "Name starts with\u2026", id: "asset-q" }),
    type: h("input", { type: "text", name: "type", value: f.type, placeholder: "any type" }),
    owner: h("input", { type: "text", name: "owner", value: f.owner, placeholder: "any owner" }),
    tag: h("input", { type: "text", name: "tag", value: f.tag, placeholder: "any tag" }),
  };
  const form = h("form", {
    class: "filters", id: "asset-filters",
    on: {
      submit: (ev) => {
        ev.preventDefault();
        go(link(["assets"], Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value.trim()]))));
      },
    },
  },
  field("Name", inputs.q), field("Type", inputs.type), field("Owner", inputs.owner), field("Tag", inputs.tag),
  h("div", { class: "actions" }, h("button", { class: "btn primary", type: "submit" }, "Search"), h("a", { class: "btn", href: "#/assets" }, "Clear")));
  const body = h("div", {}, loading());
  show(pg, pageHead([], "Assets"), form, body);

  const res = await listPage("/assets", "assets", { q: f.q, asset_type: f.type, owner: f.owner, tag: f.tag }, q.get("page"));
  if (!pg.alive) return;
  const rows = res.items.map((a) => h("tr", {},
    h("td", {}, h("a", { class: "asset-link", href: link(["assets", a.name]) }, a.name), a.global ? h("span", { class: "badge" }, "global") : null,
      a.freshness_status === "stale" ? h("span", { class: "badge badge-bad", title: "Freshness policy violated" }, "stale") : null),
    h("td", {}, a.asset_type ? h("a", { class: "plain", href: hrefWith({ type: a.asset_type, page: "" }) }, a.asset_type) : ""),
    h("td", {}, a.owner ? h("a", { class: "plain", href: hrefWith({ owner: a.owner, page: "" }) }, a.owner) : ""),
    h("td", {}, chips(a.tags, (t) => hrefWith({ tag: t, page: "" }))),
    h("td", { class: "muted" }, fmtTime(a.updated_at))));
  replace(body, table(["Name", "Type", "Owner", "Tags", "Updated"], rows, "No asset matches."), pager(res, (tok) => hrefWith({ page: tok })));
}

function intParam(v, lo, hi, def) {
  const n = parseInt(v || "", 10);
  return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : def;
}

async function assetPage(pg, route) {
  const name = route.parts[1];
  const q = route.query;
  const state = {
    depth: intParam(q.get("depth"), 1, 50, 3),
    dir: DIRECTIONS.includes(q.get("dir")) ? q.get("dir") : "both",
    types: new Set((q.get("types") || "").split(",").filter((t) => EDGE_TYPES.some((x) => x.type === t))),
  };
  if (state.types.size === 0) EDGE_TYPES.forEach((t) => state.types.add(t.type));
  const stateQuery = () => ({
    depth: state.depth === 3 ? "" : state.depth,
    dir: state.dir === "both" ? "" : state.dir,
    types: state.types.size === EDGE_TYPES.length ? "" : [...state.types].join(","),
  });

  show(pg, pageHead([["Assets", "#/assets"]], name), loading());
  const { asset } = await api("GET", `/assets/${seg(name)}`);
  if (!pg.alive) return;
  document.title = `${asset.name} \u00b7 Servo`;

  // Lineage controls.
  const depthInput = h("input", { type: "number", min: 1, max: 50, value: state.depth, id: "lineage-depth", "aria-label": "Depth" });
  const dirSelect = h("select", { id: "lineage-dir", "aria-label": "Direction" }, DIRECTIONS.map((d) => h("option", { value: d, selected: d === state.dir }, d)));
  const stats = h("span", { class: "stats muted", id: "lineage-stats" });
  const graphBox = h("div", { class: "graph", id: "lineage-graph" }, loading());
  const legend = h("div", { class: "legend", "aria-label": "Edge types" },
    EDGE_TYPES.map((t) => h("label", { class: "legend-item" },
      h("input", { type: "checkbox", checked: state.types.has(t.type), dataset: { type: t.type }, on: { change: (ev) => {
        if (ev.target.checked) state.types.add(t.type);
        else state.types.delete(t.type);
        if (state.types.size === 0) {
          state.types.add(t.type);
          ev.target.checked = true;
        }
        reload();
      } } }),
      swatch(t), t.type)),
    h("span", { class: "legend-item" }, h("span", { class: "node-key node-key-up" }), "upstream"),
    h("span", { class: "legend-item" }, h("span", { class: "node-key node-key-root" }), "this asset"),
    h("span", { class: "legend-item" }, h("span", { class: "node-key node-key-down" }), "downstream"));

  let ctl = null;
  const tools = h("div", { class: "graph-tools" },
    h("button", { class: "btn small", type: "button", title: "Zoom out", on: { click: () => ctl?.zoom(1 / 1.25) } }, "\u2212"),
    h("button", { class: "btn small", type: "button", title: "Zoom in", on: { click: () => ctl?.zoom(1.25) } }, "+"),
    h("button", { class: "btn small", type: "button", title: "Fit the whole graph", on: { click: () => ctl?.fit() } }, "Fit"),
    h("button", { class: "btn small", type: "button", title: "Centre this asset", on: { click: () => ctl?.focus(asset.id, 1) } }, "Centre"));

  const setDepth = (d) => {
    state.depth = intParam(String(d), 1, 50, state.depth);
    depthInput.value = state.depth;
    reload();
  };
  depthInput.addEventListener("change", () => setDepth(depthInput.value));
  dirSelect.addEventListener("change", () => {
    state.dir = dirSelect.value;
    reload();
  });

  const loadGraph = async () => {
    stats.textContent = "Loading\u2026";
    const l = await api("GET", `/assets/${seg(name)}/lineage`, {
      query: { direction: state.dir, depth: state.depth, types: state.types.size === EDGE_TYPES.length ? "" : [...state.types].join(",") },
    });
    if (!pg.alive) return;
    const nodes = [{ id: l.root.id, name: l.root.name, type: l.root.asset_type, root: true, global: l.root.global }];
    for (const n of l.nodes) nodes.push({ id: n.asset.id, name: n.asset.name, type: n.asset.asset_type, direction: n.direction, depth: n.depth, global: n.asset.global });
    const edges = l.edges.map((e) => ({ id: e.id, from: e.upstream_asset_id, to: e.downstream_asset_id, type: e.dependency_type }));
    const ups = l.nodes.filter((n) => n.direction === "upstream").length;
    stats.textContent = `${nodes.length} assets (${ups} upstream, ${l.nodes.length - ups} downstream) \u00b7 ${edges.length} edges`;
    if (l.truncated) stats.append(h("span", { class: "warn" }, " \u00b7 truncated at the node limit"));
    if (l.nodes.length === 0) graphBox.dataset.empty = "1";
    else delete graphBox.dataset.empty;
    ctl = renderGraph(graphBox, { nodes, edges }, {
      onSelect: (nd) => {
        if (!nd.root) go(link(["assets", nd.name], stateQuery()));
      },
    });
    ctl.initial(l.root.id);
    markFailingChecks(graphBox, nodes.map((n) => n.id));
    markStale(graphBox).catch(() => {});
    if (l.nodes.length === 0) graphBox.append(h("p", { class: "graph-empty muted" }, "No lineage at this depth: this asset has no upstream or downstream edges of the chosen types."));
  };
  const reload = () => {
    history.replaceState(null, "", link(["assets", name], stateQuery()));
    loadGraph().catch((err) => pg.alive && replace(graphBox, errorBox(err)));
  };

  // Actions.
  const materialize = h("button", {
    class: "btn primary", type: "button", id: "materialize",
    on: {
      click: async () => {
        materialize.disabled = true;
        try {
          const r = await api("POST", "/materialize", { body: { asset_name: asset.name }, idempotent: true });
          toast(`Run ${shortId(r.run_id)} started (${r.status})`);
          go(link(["runs", r.run_id]));
        } catch (err) {
          toast(err.message, "error");
        } finally {
          materialize.disabled = false;
        }
      },
    },
  }, "Materialize");
  const exportPre = h("pre", { class: "export", id: "lineage-text" });
  const exportBox = h("details", { class: "export-box" }, h("summary", {}, "Lineage as text"),
    h("div", { class: "actions" },
      ["dot", "mermaid"].map((fmt) => h("button", { class: "btn small", type: "button", dataset: { format: fmt }, on: { click: async () => {
        try {
          const r = await api("GET", `/assets/${seg(name)}/lineage`, { text: true, query: { format: fmt, direction: state.dir, depth: state.depth } });
          exportPre.textContent = r.text;
        } catch (err) {
          exportPre.textContent = err.message;
        }
      } } }, fmt === "dot" ? "Graphviz DOT" : "Mermaid"))),
    exportPre);

  const runsBody = h("div", {}, loading());
  const details = h("dl", { class: "details" },
    dt("ID", h("span", { class: "mono" }, asset.id)),
    dt("Type", asset.asset_type || "\u2014"),
    dt("Owner", asset.owner || "\u2014"),
    dt("Tags", asset.tags?.length ? chips(asset.tags, (t) => link(["assets"], { tag: t })) : "\u2014"),
    dt("Description", asset.description || "\u2014"),
    dt("Scope", asset.global ? "global (read-only for tenants)" : "tenant"),
    dt("Created", fmtTime(asset.created_at)),
    dt("Updated", fmtTime(asset.updated_at)));

  show(pg,
    pageHead([["Assets", "#/assets"]], asset.name,
      asset.asset_type ? h("span", { class: "badge" }, asset.asset_type) : null,
      asset.global ? h("span", { class: "badge" }, "global") : null,
      asset.owner ? h("span", { class: "muted" }, "owned by ", asset.owner) : null,
      h("span", { class: "spacer" }), materialize),
    h("section", { class: "lineage-panel card" },
      h("div", { class: "toolbar" },
        h("strong", {}, "Lineage"),
        h("label", { class: "inline" }, "Direction ", dirSelect),
        h("span", { class: "inline depth" }, "Depth ",
          h("button", { class: "btn small", type: "button", "aria-label": "Less depth", on: { click: () => setDepth(state.depth - 1) } }, "\u2212"),
          depthInput,
          h("button", { class: "btn small", type: "button", "aria-label": "More depth", on: { click: () => setDepth(state.depth + 1) } }, "+")),
        stats, h("span", { class: "spacer" }), legend),
      h("div", { class: "graph-frame" }, graphBox, tools),
      h("p", { class: "hint muted" }, "Drag to pan, wheel to zoom, click an asset to open it.")),
    h("div", { class: "columns" },
      h("section", { class: "card" }, h("h2", {}, "Details"), details, exportBox),
      h("section", { class: "card" }, h("h2", {}, "Recent runs"), runsBody)),
    fieldsPanel(asset, (n) => link(["assets", n])),
    assetChecksCard(asset.name));

  loadGraph().catch((err) => pg.alive && replace(graphBox, errorBox(err)));
  poll(pg, async () => {
    const r = await api("GET", "/runs", { query: { asset_name: asset.name, limit: 10 } });
    if (pg.alive) replace(runsBody, table(RUN_HEADERS, r.runs.map(runRow), "No runs of this asset yet."));
  });
}

function dt(label, value) {
  return [h("dt", {}, label), h("dd", {}, value)];
}

function swatch(t) {
  return h("span", { class: ["swatch", "swatch-" + t.type] });
}

// -------------------------------------------------------------- workflows

async function workflowsPage(pg, route) {
  const body = h("div", {}, loading());
  show(pg, pageHead([], "Workflows"), body);
  const res = await listPage("/workflows", "workflows", {}, route.query.get("page"));
  if (!pg.alive) return;
  const rows = res.items.map((w) => h("tr", {},
    h("td", {}, h("a", { href: link(["workflows", w.name]) }, w.name)),
    h("td", { class: "num" }, "v" + w.version),
    h("td", { class: "num" }, String(w.assets.length)),
    h("td", {}, w.owner || ""),
    h("td", {}, chips(w.tags, () => "#/workflows")),
    h("td", { class: "muted" }, fmtTime(w.updated_at))));
  replace(body, table(["Name", "Latest", "Assets", "Owner", "Tags", "Updated"], rows, "No workflows yet."),
    pager(res, (tok) => link(["workflows"], { page: tok })));
}

async function workflowPage(pg, route) {
  const name = route.parts[1];
  const want = parseInt(route.query.get("version") || "", 10);
  show(pg, pageHead([["Workflows", "#/workflows"]], name), loading());
  const { workflows: versions } = await api("GET", `/workflows/${seg(name)}/versions`, { query: { limit: PAGE_SIZE } });
  let w = versions.find((v) => v.version === want) || (Number.isFinite(want) ? null : versions[0]);
  if (!w) w = (await api("GET", `/workflows/${seg(name)}`, { query: { version: want } })).workflow;
  if (!pg.alive) return;
  document.title = `${w.name} \u00b7 Servo`;

  const trigger = h("button", {
    class: "btn primary", type: "button", id: "trigger",
    on: {
      click: async () => {
        trigger.disabled = true;
        try {
          const r = await api("POST", `/workflows/${seg(w.name)}/trigger`, { query: { version: w.version }, idempotent: true });
          toast(`Run ${shortId(r.run_id)} started (${r.status})`);
          go(link(["runs", r.run_id]));
        } catch (err) {
          toast(err.message, "error");
        } finally {
          trigger.disabled = false;
        }
      },
    },
  }, `Trigger v${w.version}`);
  const runsBody = h("div", {}, loading());
  show(pg,
    pageHead([["Workflows", "#/workflows"]], w.name, h("span", { class: "badge" }, "v" + w.version), h("span", { class: "spacer" }), trigger),
    h("div", { class: "columns" },
      h("section", { class: "card" }, h("h2", {}, "Version ", String(w.version)),
        h("dl", { class: "details" },
          dt("ID", h("span", { class: "mono" }, w.id)),
          dt("Description", w.description || "\u2014"),
          dt("Owner", w.owner || "\u2014"),
          dt("Tags", w.tags.length ? chips(w.tags, () => "#/workflows") : "\u2014"),
          dt("Created", fmtTime(w.created_at))),
        h("h3", {}, `Assets (${w.assets.length})`),
        h("ol", { class: "asset-list" }, w.assets.map((a) => h("li", {}, h("a", { href: link(["assets", a]) }, a))))),
      h("section", { class: "card" }, h("h2", {}, "Versions"),
        table(["Version", "Assets", "Created", ""], versions.map((v) => h("tr", { class: v.version === w.version ? "current" : "" },
          h("td", { class: "num" }, "v" + v.version),
          h("td", { class: "num" }, String(v.assets.length)),
          h("td", { class: "muted" }, fmtTime(v.created_at)),
          h("td", {}, v.version === w.version ? h("span", { class: "muted" }, "shown") : h("a", { href: link(["workflows", w.name], { version: v.version }) }, "view"))))))),
    h("section", { class: "card" }, h("h2", {}, "Runs"), runsBody));

  poll(pg, async () => {
    const r = await api("GET", "/runs", { query: { workflow_name: w.name, limit: 20 } });
    if (pg.alive) replace(runsBody, table(RUN_HEADERS, r.runs.map(runRow), "No runs of this workflow yet."));
  });
}

// ------------------------------------------------------------------- runs

async function runsPage(pg, route) {
  const q = route.query;
  const f = { status: STATUSES.includes(q.get("status")) ? q.get("status") : "", workflow: q.get("workflow") || "", asset: q.get("asset") || "" };
  const status = h("select", { name: "status", id: "runs-status" }, h("option", { value: "" }, "any"), STATUSES.map((x) => h("option", { value: x, selected: x === f.status }, x.replace("_", " "))));
  const workflow = h("input", { type: "text", name: "workflow", value: f.workflow, placeholder: "workflow name" });
  const asset = h("input", { type: "text", name: "asset", value: f.asset, placeholder: "asset name" });
  const form = h("form", {
    class: "filters",
    on: {
      submit: (ev) => {
        ev.preventDefault();
        go(link(["runs"], { status: status.value, workflow: workflow.value.trim(), asset: asset.value.trim() }));
      },
    },
  }, field("Status", status), field("Workflow", workflow), field("Asset", asset),
  h("div", { class: "actions" }, h("button", { class: "btn primary", type: "submit" }, "Filter"), h("a", { class: "btn", href: "#/runs" }, "Clear")));
  const live = h("span", { class: "live", title: "Refreshed every 2 seconds" }, "live");
  const body = h("div", { id: "runs-body" }, loading());
  show(pg, pageHead([], "Runs", live), form, body);
  await poll(pg, async () => {
    const res = await listPage("/runs", "runs", { status: f.status, workflow_name: f.workflow, asset_name: f.asset }, q.get("page"));
    if (!pg.alive) return false;
    replace(body, table(RUN_HEADERS, res.items.map(runRow), "No runs match."), pager(res, (tok) => link(["runs"], { ...f, page: tok })));
    return true;
  });
}

async function runPage(pg, route) {
  const id = route.parts[1];
  const head = h("div", {});
  const detailsBox = h("div", {}, loading());
  const stepsBox = h("section", { class: "card", id: "run-steps", hidden: true });
  const eventsBox = h("section", { class: "card", id: "run-events", hidden: true });
  const logsBox = h("section", { class: "card", id: "run-logs-box", hidden: true });
  const checksBox = runChecksCard(id);
  show(pg, head, h("section", { class: "card" }, detailsBox), stepsBox, checksBox, eventsBox, logsBox);

  let finalRound = false;
  await poll(pg, async () => {
    const [run, events, logs] = await Promise.all([
      api("GET", `/workflow-runs/${seg(id)}`),
      api("GET", `/runs/${seg(id)}/events`, { optional: true }).catch(() => null),
      api("GET", `/runs/${seg(id)}/logs`, { optional: true }).catch(() => null),
    ]);
    if (!pg.alive) return false;
    document.title = `Run ${shortId(run.id)} \u00b7 Servo`;
    const terminal = TERMINAL.has(run.status);
    const cancel = terminal ? null : h("button", {
      class: "btn danger", type: "button",
      on: {
        click: async () => {
          try {
            await api("POST", `/runs/${seg(id)}/cancel`);
          } catch (err) {
            toast(err.message, "error");
          }
        },
      },
    }, "Cancel");
    replace(head, pageHead([["Runs", "#/runs"]], `Run ${shortId(run.id)}`, statusBadge(run.status),
      terminal ? null : h("span", { class: "live" }, "live"), h("span", { class: "spacer" }), cancel));
    replace(detailsBox, h("dl", { class: "details wide" },
      dt("ID", h("span", { class: "mono" }, run.id)),
      dt("Target", runTarget(run)),
      dt("Status", [statusBadge(run.status), " ", h("span", { class: "muted" }, "state " + run.state)]),
      dt("Trigger", run.trigger || "\u2014"),
      dt("Attempt", String(run.attempt)),
      run.partition_key ? dt("Partition", run.partition_key) : null,
      run.idempotency_key ? dt("Idempotency key", h("span", { class: "mono" }, run.idempotency_key)) : null,
      dt("Created", fmtTime(run.created_at)),
      dt("Started", fmtTime(run.started_at)),
      dt("Completed", run.completed_at ? fmtTime(run.completed_at) : "\u2014"),
      dt("Duration", fmtDuration(run.started_at, run.completed_at)),
      run.error ? dt("Error", h("span", { class: "err" }, run.error)) : null));
    renderSteps(stepsBox, run.steps);
    renderEvents(eventsBox, events);
    renderLogs(logsBox, logs);
    await checksBox.refresh();
    if (terminal) {
      // One more round picks up the last events and log lines.
      if (finalRound) return false;
      finalRound = true;
    }
    return true;
  });
}

function renderSteps(box, steps) {
  if (!Array.isArray(steps)) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  replace(box, h("h2", {}, `Steps (${steps.length})`), table(["Step", "Status", "Attempt", "Started", "Duration", "Error"], steps.map((st) => h("tr", {},
    h("td", {}, st.asset_name ? h("a", { href: link(["assets", st.asset_name]) }, st.asset_name) : st.name || st.key || shortId(st.id),
      st.id ? [" ", h("a", { class: "mono muted", href: link(["runs", st.id]) }, shortId(st.id))] : null),
    h("td", {}, statusBadge(st.status || st.state)),
    h("td", { class: "num" }, String(st.attempt ?? "")),
    h("td", {}, fmtTime(st.started_at)),
    h("td", {}, st.started_at ? fmtDuration(st.started_at, st.completed_at) : ""),
    h("td", { class: "err" }, st.error || ""))), "No steps."));
}

function listOf(v, ...keys) {
  if (Array.isArray(v)) return v;
  for (const k of keys) if (v && Array.isArray(v[k])) return v[k];
  return null;
}

function renderEvents(box, res) {
  const events = res && listOf(res, "events", "items");
  if (!events) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  replace(box, h("h2", {}, `Events (${events.length})`), table(["Time", "Event", "Attempt", "Reason"], events.map((e) => h("tr", {},
    h("td", { class: "muted" }, fmtTime(e.at || e.time || e.event_time || e.created_at)),
    h("td", {}, e.from !== undefined || e.to !== undefined ? [h("span", { class: "mono" }, e.from || "\u2205"), " \u2192 ", h("span", { class: "mono" }, e.to || "")] : String(e.type || e.event_type || e.kind || "")),
    h("td", { class: "num" }, String(e.attempt ?? "")),
    h("td", {}, String(e.reason || e.message || "")))), "No events yet."));
}

function renderLogs(box, res) {
  if (!res) {
    box.hidden = true;
    return;
  }
  let text;
  let truncated = false;
  if (typeof res.text === "string" && res.type !== undefined) text = res.text;
  else if (typeof res.logs === "string" || typeof res.content === "string") {
    text = typeof res.logs === "string" ? res.logs : res.content;
    truncated = Boolean(res.truncated);
  } else {
    const lines = listOf(res, "lines", "logs", "entries");
    text = lines ? lines.map((l) => (typeof l === "string" ? l : [l.at || l.time || "", l.stream || "", l.message || l.line || l.text || JSON.stringify(l)].filter(Boolean).join(" "))).join("\n") : JSON.stringify(res, null, 2);
    truncated = Boolean(res.truncated);
  }
  const old = box.querySelector("pre");
  const atBottom = !old || old.scrollTop + old.clientHeight >= old.scrollHeight - 4;
  const pre = h("pre", { class: "logs", id: "run-logs" }, text || "(no output yet)");
  box.hidden = false;
  replace(box, h("h2", {}, "Logs"), truncated ? h("p", { class: "muted" }, "Earlier output was dropped; the last part is kept.") : null, pre);
  if (atBottom) pre.scrollTop = pre.scrollHeight;
  else pre.scrollTop = old.scrollTop;
}

// ------------------------------------------------------------------ shell

function renderChrome(route) {
  const section = route.parts[0];
  const key = getKey();
  replace(navEl, key ? [["assets", "Assets"], ["workflows", "Workflows"], ["runs", "Runs"], ["schedules", "Schedules"], ["automations", "Automations"], ["backfills", "Backfills"]].map(([k, label]) =>
    h("a", { href: "#/" + k, class: section === k ? "active" : "", "aria-current": section === k ? "page" : null }, label)) : []);
  // The key's first 12 characters are the prefix Servo itself lists for
  // it (servo keys list); the rest stays off the screen.
  replace(sessionEl, key ? [
    h("span", { class: "key mono", title: "Signed in with this key" }, key.slice(0, 12) + "\u2026"),
    h("button", { class: "btn small ghost", type: "button", id: "signout", on: { click: () => {
      clearKey();
      go("#/signin");
    } } }, "Sign out"),
  ] : []);
}

// pageKit hands the page helpers to pages in modules of their own.
const pageKit = { show, poll, pageHead, toast, errorBox, loading, link, go, table, field };

async function render() {
  const pg = newPage();
  const route = parseHash();
  document.title = "Servo";
  renderChrome(route);
  if (!getKey() || route.parts[0] === "signin") {
    signInPage(pg, route);
    return;
  }
  const [section, id] = route.parts;
  try {
    if (section === "assets") await (id ? assetPage(pg, route) : assetsPage(pg, route));
    else if (section === "workflows") await (id ? workflowPage(pg, route) : workflowsPage(pg, route));
    else if (section === "runs") await (id ? runPage(pg, route) : runsPage(pg, route));
    else if (section === "backfills") await (id ? backfillPage(pageKit, pg, route) : backfillsPage(pageKit, pg, route));
    else if (section === "schedules") await schedulesPage(pg, route, (...els) => show(pg, ...els));
    else if (section === "automations") await automationsPage(pg, route, (...els) => show(pg, ...els));
    else show(pg, pageHead([], "Not found"), h("p", {}, "No such page. ", h("a", { href: "#/assets" }, "Go to the assets.")));
  } catch (err) {
    if (!pg.alive || err.status === 401) return;
    show(pg, errorBox(err));
  }
}

onUnauthorized(() => {
  clearKey();
  const pg = newPage();
  renderChrome(parseHash());
  signInPage(pg, parseHash(), "The server refused the key (it may have been revoked). Sign in again.");
});

window.addEventListener("hashchange", render);
render();
