// Console pages for schedules and automations: their next and last ticks
// or evaluations with reasons, and enable/disable. Every string from the
// API goes into the page as text (dom.js).

import { h, replace, fmtTime } from "./dom.js";
import { api, seg } from "./api.js";

function table(headers, rows, empty) {
  return h("table", { class: "grid" },
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { class: "empty", colspan: headers.length }, empty))));
}

function head(title) {
  return h("div", { class: "page-head" }, h("div", { class: "title-row" }, h("h1", { class: "title" }, title)));
}

// toggle is a button that flips enabled through PATCH and then redraws.
function toggle(path, enabled, redraw) {
  return h("button", {
    class: "btn small", type: "button",
    on: {
      click: async (ev) => {
        ev.target.disabled = true;
        try {
          await api("PATCH", path, { body: { enabled: !enabled } });
        } finally {
          redraw();
        }
      },
    },
  }, enabled ? "Disable" : "Enable");
}

function status(text, kind) {
  return h("span", { class: ["badge", "badge-" + kind] }, text);
}

// schedulesPage lists the tenant's schedules with their next tick and the
// last ticks of each with what became of them.
export async function schedulesPage(pg, route, show) {
  const body = h("div", { id: "schedules-body" }, h("p", { class: "muted loading" }, "Loading\u2026"));
  show(head("Schedules"), body);
  const draw = async () => {
    const res = await api("GET", "/schedules", { query: { limit: 200 } });
    if (!pg.alive) return;
    const rows = [];
    for (const s of res.schedules || []) {
      const ticks = await api("GET", "/schedules/" + seg(s.id) + "/ticks", { query: { limit: 5 } });
      if (!pg.alive) return;
      rows.push(h("tr", { dataset: { schedule: s.name } },
        h("td", {}, s.name),
        h("td", {}, h("a", { href: "#/workflows/" + seg(s.workflow) }, s.workflow), s.workflow_version ? " v" + s.workflow_version : ""),
        h("td", { class: "mono" }, s.cron), h("td", {}, s.timezone),
        h("td", {}, s.enabled ? status("enabled", "ok") : status("paused", "muted")),
        h("td", {}, s.enabled && s.next_tick_at ? fmtTime(s.next_tick_at) : "\u2014"),
        h("td", {}, (ticks.ticks || []).map((t) => h("div", { class: "tick" },
          fmtTime(t.tick_at), " ", status(t.status, t.status === "triggered" ? "ok" : t.status === "failed" ? "bad" : "muted"),
          t.run_id ? [" ", h("a", { class: "mono", href: "#/runs/" + seg(t.run_id) }, "run")] : null,
          t.reason ? h("span", { class: "muted" }, " " + t.reason) : null))),
        h("td", {}, toggle("/schedules/" + seg(s.id), s.enabled, draw))));
    }
    replace(body, table(["Name", "Workflow", "Cron", "Time zone", "State", "Next tick", "Last ticks", ""], rows, "No schedules yet."));
  };
  await draw();
}

// automationsPage lists the tenant's automations with their last
// evaluations and why each did or did not start a run.
export async function automationsPage(pg, route, show) {
  const body = h("div", { id: "automations-body" }, h("p", { class: "muted loading" }, "Loading\u2026"));
  show(head("Automations"), body);
  const draw = async () => {
    const res = await api("GET", "/automations", { query: { limit: 200 } });
    if (!pg.alive) return;
    const rows = [];
    for (const a of res.automations || []) {
      const evs = await api("GET", "/automations/" + seg(a.id) + "/evaluations", { query: { limit: 5 } });
      if (!pg.alive) return;
      rows.push(h("tr", { dataset: { automation: a.name } },
        h("td", {}, a.name),
        h("td", {}, a.on === "upstream_updated" ? "upstream updated (" + a.mode + ")" : "freshness violated"),
        h("td", {}, a.workflow ? ["run ", h("a", { href: "#/workflows/" + seg(a.workflow) }, a.workflow)] : "materialize asset"),
        h("td", {}, a.enabled ? status("enabled", "ok") : status("paused", "muted")),
        h("td", {}, a.last_run_id ? h("a", { class: "mono", href: "#/runs/" + seg(a.last_run_id) }, fmtTime(a.last_run_at)) : "\u2014"),
        h("td", {}, (evs.evaluations || []).map((e) => h("div", { class: "tick" },
          fmtTime(e.evaluated_at), " ", status(e.result, e.result === "triggered" ? "ok" : e.result === "failed" ? "bad" : "muted"),
          h("span", { class: "muted" }, " " + e.reason)))),
        h("td", {}, toggle("/automations/" + seg(a.id), a.enabled, draw))));
    }
    replace(body, table(["Name", "On", "Does", "State", "Last run", "Last evaluations", ""], rows, "No automations yet."));
  };
  await draw();
}

// markStale marks the nodes of a rendered lineage graph whose asset's
// freshness policy is violated (the tenant's first 500 stale assets).
export async function markStale(container) {
  const res = await api("GET", "/assets", { query: { stale: "true", limit: 500 } });
  const stale = new Set((res.assets || []).map((a) => a.id));
  for (const g of container.querySelectorAll("g.node")) {
    if (stale.has(g.dataset.id)) g.classList.add("node-stale");
  }
}
