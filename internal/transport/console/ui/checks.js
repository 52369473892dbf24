// Data-quality checks in the console: an asset's checks with their last
// outcomes, a run's results per step (failed samples shown as text), and
// the lineage graph's mark on assets whose latest blocking check failed.
// Every string from the API reaches the page as text (see dom.js).

import { h, replace, fmtTime } from "./dom.js";
import { api, seg } from "./api.js";

function outcomeBadge(outcome) {
  const o = String(outcome || "none");
  return h("span", { class: ["badge", "check-outcome", "check-" + o.replace(/[^a-z]/g, "")], dataset: { outcome: o } }, o);
}

function checkTable(headers, rows, empty) {
  if (rows.length === 0) return h("p", { class: "muted" }, empty);
  return h("table", { class: "grid" }, h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))), h("tbody", {}, rows));
}

// assetChecksCard returns a card listing the asset's checks; it loads
// itself.
export function assetChecksCard(assetName) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading\u2026"));
  const card = h("section", { class: "card", id: "asset-checks" }, h("h2", {}, "Checks"), body);
  api("GET", `/assets/${seg(assetName)}/checks`).then((res) => {
    const rows = (res.checks || []).map((c) => h("tr", { dataset: { check: c.name } },
      h("td", {}, c.name, c.description ? h("div", { class: "muted" }, c.description) : null),
      h("td", {}, c.check_type?.type || ""),
      h("td", {}, c.severity),
      h("td", {}, c.blocking ? "blocking" : "\u2014"),
      h("td", {}, c.enabled ? "enabled" : "disabled"),
      h("td", {}, c.last_outcome ? outcomeBadge(c.last_outcome) : h("span", { class: "muted" }, "no result yet")),
      h("td", {}, c.last_run_at ? fmtTime(c.last_run_at) : "")));
    replace(body, checkTable(["Check", "Type", "Severity", "Blocking", "State", "Last outcome", "When"], rows, "No checks on this asset."));
  }).catch((err) => replace(body, h("p", { class: "err" }, err.message)));
  return card;
}

// runChecksCard returns a card for a run's check results, grouped by step;
// call its refresh() to reload. It stays hidden while the run has none.
export function runChecksCard(runId) {
  const card = h("section", { class: "card", id: "run-checks", hidden: true });
  card.refresh = async () => {
    let res;
    try {
      res = await api("GET", `/runs/${seg(runId)}/check-results`, { optional: true });
    } catch {
      return;
    }
    const results = res?.results || [];
    card.hidden = results.length === 0;
    if (card.hidden) return;
    const byStep = new Map();
    for (const r of results) {
      const k = r.asset_name || r.run_id;
      if (!byStep.has(k)) byStep.set(k, []);
      byStep.get(k).push(r);
    }
    const groups = [];
    for (const [step, rs] of byStep) {
      rs.sort((a, b) => String(a.check_name).localeCompare(String(b.check_name)));
      groups.push(h("h3", {}, step), checkTable(["Check", "Outcome", "Severity", "Rows failed", "Message"], rs.map((r) => h("tr", { dataset: { check: r.check_name } },
        h("td", {}, r.check_name, r.blocked ? h("span", { class: "badge check-blocked" }, "blocked the step") : null),
        h("td", {}, outcomeBadge(r.outcome)),
        h("td", {}, r.severity),
        h("td", { class: "num" }, r.rows_failed == null ? "" : String(r.rows_failed)),
        h("td", {}, r.message || "",
          r.details != null && (r.outcome === "failed" || r.outcome === "error")
            ? h("details", { class: "check-details" }, h("summary", {}, "Failed samples"), h("pre", { class: "export" }, JSON.stringify(r.details, null, 2)))
            : null))), ""));
    }
    replace(card, h("h2", {}, `Checks (${results.length})`), groups);
  };
  return card;
}

// markFailingChecks marks the graph's nodes whose assets have a failed
// blocking check.
export async function markFailingChecks(graphBox, assetIds) {
  if (!assetIds.length) return;
  let res;
  try {
    res = await api("GET", "/checks/failing", { query: { asset_ids: assetIds.slice(0, 500).join(",") } });
  } catch {
    return;
  }
  for (const id of res.asset_ids || []) {
    for (const g of graphBox.querySelectorAll("g.node")) {
      if (g.dataset.id !== id) continue;
      g.classList.add("check-failed");
      const title = g.querySelector("title");
      if (title) title.textContent += "\nA blocking check failed";
    }
  }
}
