// Backfills in the console: the list, and one backfill's progress bar,
// per-partition grid coloured by state, ETA from the observed partition
// durations, and pause / resume / cancel / retry-failed buttons.
//
//   #/backfills?state=, #/backfills/ID
//
// app.js hands in its page helpers (ui), so this module keeps to the same
// page lifetime, polling and error display.

import { h, replace, fmtTime, shortId } from "./dom.js";
import { api, seg } from "./api.js";

const STATES = ["pending", "running", "paused", "succeeded", "failed", "cancelled"];
const DONE = ["succeeded", "failed", "cancelled", "skipped"];

function finished(b) {
  return b.succeeded + b.failed + b.cancelled + b.skipped;
}

function stateBadge(state) {
  return h("span", { class: ["badge", "bf-state", "bf-" + state] }, state);
}

// progressBar draws the share of finished partitions, split by outcome.
export function progressBar(b) {
  const bar = h("div", { class: "bf-bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": String(b.total), "aria-valuenow": String(finished(b)) });
  for (const part of ["succeeded", "skipped", "failed", "cancelled", "running"]) {
    const n = b[part] || 0;
    if (!n) continue;
    const seg = h("span", { class: ["bf-seg", "bf-" + part], title: `${n} ${part}` });
    seg.style.width = (100 * n / Math.max(b.total, 1)).toFixed(3) + "%";
    bar.append(seg);
  }
  return bar;
}

// eta estimates the time left from the finished partitions' durations and
// the concurrency; null before any partition has finished.
export function eta(b, parts) {
  const durations = parts.filter((p) => p.started_at && p.completed_at && p.state === "succeeded")
    .map((p) => new Date(p.completed_at) - new Date(p.started_at)).filter((d) => d >= 0);
  const left = b.pending + b.waiting_upstream + b.running;
  if (!durations.length || !left) return null;
  const mean = durations.reduce((a, d) => a + d, 0) / durations.length;
  return mean * Math.ceil(left / Math.max(1, b.max_concurrency));
}

function fmtEta(ms) {
  if (ms === null) return "\u2014";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

function grid(parts) {
  return h("div", { class: "bf-grid", id: "bf-grid" }, parts.map((p) =>
    h("a", {
      class: ["bf-cell", "bf-" + p.state], href: p.run_id ? "#/runs/" + seg(p.run_id) : null,
      title: `${p.partition_key}: ${p.state.replace("_", " ")}`, dataset: { key: p.partition_key, state: p.state },
    })));
}

export async function backfillsPage(ui, pg, route) {
  const state = STATES.includes(route.query.get("state")) ? route.query.get("state") : "";
  const select = h("select", { name: "state", id: "backfills-state", on: { change: () => ui.go(ui.link(["backfills"], { state: select.value })) } },
    h("option", { value: "" }, "any"), STATES.map((s) => h("option", { value: s, selected: s === state }, s)));
  const body = h("div", { id: "backfills-body" }, ui.loading());
  ui.show(pg, ui.pageHead([], "Backfills", h("span", { class: "live" }, "live")), h("div", { class: "filters" }, ui.field("State", select)), body);
  await ui.poll(pg, async () => {
    const res = await api("GET", "/backfills", { query: { state, limit: 100 } });
    if (!pg.alive) return false;
    const rows = res.backfills.map((b) => h("tr", { dataset: { backfillId: b.id } },
      h("td", {}, h("a", { class: "mono", href: ui.link(["backfills", b.id]) }, shortId(b.id))),
      h("td", {}, stateBadge(b.state)),
      h("td", { class: "bf-progress-cell" }, progressBar(b)),
      h("td", { class: "num" }, `${finished(b)} / ${b.total}`),
      h("td", {}, fmtTime(b.created_at))));
    replace(body, ui.table(["Backfill", "State", "Progress", "Done", "Created"], rows, "No backfills."));
    return true;
  });
}

export async function backfillPage(ui, pg, route) {
  const id = route.parts[1];
  const head = h("div", {});
  const summary = h("section", { class: "card", id: "bf-summary" }, ui.loading());
  const gridBox = h("section", { class: "card", id: "bf-partitions" });
  ui.show(pg, head, summary, gridBox);
  const act = (action) => async () => {
    try {
      await api("POST", `/backfills/${seg(id)}/${action}`);
      ui.toast(`Backfill ${action === "retry-failed" ? "retrying failed partitions" : action + "d"}.`);
      ui.go(location.hash);
    } catch (err) {
      ui.toast(err.message, "error");
    }
  };
  await ui.poll(pg, async () => {
    const [{ backfill: b }, { partitions }] = await Promise.all([
      api("GET", `/backfills/${seg(id)}`),
      api("GET", `/backfills/${seg(id)}/partitions`, { query: { limit: 10000 } }),
    ]);
    if (!pg.alive) return false;
    const over = ["succeeded", "failed", "cancelled"].includes(b.state);
    const buttons = [
      ["pause", "Pause", b.state === "pending" || b.state === "running"],
      ["resume", "Resume", b.state === "paused"],
      ["cancel", "Cancel", !over],
      ["retry-failed", "Retry failed", b.failed > 0 && b.state !== "cancelled"],
    ].filter(([, , ok]) => ok).map(([action, label]) =>
      h("button", { class: ["btn", action === "cancel" ? "danger" : ""], type: "button", id: "bf-" + action, on: { click: act(action) } }, label));
    replace(head, ui.pageHead([["Backfills", "#/backfills"]], "Backfill " + shortId(b.id), stateBadge(b.state), over ? null : h("span", { class: "live" }, "live"), h("span", { class: "bf-actions" }, buttons)));
    const target = b.asset_id ? "asset " + shortId(b.asset_id) : "workflow " + shortId(b.workflow_id);
    replace(summary,
      progressBar(b),
      h("dl", { class: "details wide" },
        h("dt", {}, "Target"), h("dd", {}, target),
        h("dt", {}, "Done"), h("dd", { id: "bf-done" }, `${finished(b)} of ${b.total}`),
        h("dt", {}, "Running"), h("dd", {}, `${b.running} (at most ${b.max_concurrency})`),
        h("dt", {}, "Waiting upstream"), h("dd", {}, String(b.waiting_upstream)),
        h("dt", {}, "Failed / cancelled / skipped"), h("dd", {}, `${b.failed} / ${b.cancelled} / ${b.skipped}`),
        h("dt", {}, "Time left"), h("dd", { id: "bf-eta" }, over ? "\u2014" : fmtEta(eta(b, partitions))),
        h("dt", {}, "Created"), h("dd", {}, fmtTime(b.created_at))));
    const legend = h("div", { class: "bf-legend" }, ["pending", "waiting_upstream", "running", ...DONE].map((s) =>
      h("span", {}, h("span", { class: ["bf-cell", "bf-" + s] }), s.replace("_", " "))));
    replace(gridBox, h("h2", {}, "Partitions"), legend, grid(partitions));
    return !over;
  });
}
