// An asset's fields (its latest dataset version, from OpenLineage's schema
// facet) and, on click of a field, that column's lineage: the columns it is
// computed from and those computed from it, with their transformations.

import { h, replace, fmtTime, shortId } from "./dom.js";
import { api, seg } from "./api.js";

// columnLabel names a column of an asset.
function columnLabel(assetName, column) {
  return h("span", {}, h("span", { class: "muted" }, assetName + "."), h("strong", {}, column));
}

// transformation reads an edge's transformation ("DIRECT/IDENTITY").
function transformation(e) {
  const t = [e.transformation_type, e.transformation_subtype].filter(Boolean).join("/");
  return (t || "\u2014") + (e.masking ? " (masked)" : "");
}

// columnLineageBox loads and shows one column's lineage.
async function columnLineageBox(box, asset, column, assetHref) {
  replace(box, h("p", { class: "muted" }, "Loading the lineage of ", column, "\u2026"));
  const l = await api("GET", `/assets/${seg(asset.name)}/columns/${seg(column)}/lineage`, { query: { direction: "both", depth: 5 } });
  const names = new Map([[l.root.asset_id, l.root.asset_name]]);
  for (const n of l.nodes) names.set(n.asset_id, n.asset_name);
  const row = (e) => h("tr", {},
    h("td", {}, h("a", { href: assetHref(names.get(e.upstream_asset_id)) }, columnLabel(names.get(e.upstream_asset_id), e.upstream_column))),
    h("td", {}, h("a", { href: assetHref(names.get(e.downstream_asset_id)) }, columnLabel(names.get(e.downstream_asset_id), e.downstream_column))),
    h("td", {}, transformation(e)),
    h("td", { class: "muted" }, e.source));
  const ups = l.nodes.filter((n) => n.direction === "upstream").length;
  replace(box,
    h("p", {}, h("strong", {}, column), h("span", { class: "muted" }, ` \u00b7 ${ups} upstream, ${l.nodes.length - ups} downstream columns`)),
    l.edges.length
      ? h("table", { class: "grid column-lineage" },
        h("thead", {}, h("tr", {}, ["From", "To", "Transformation", "Source"].map((x) => h("th", {}, x)))),
        h("tbody", {}, l.edges.map(row)))
      : h("p", { class: "muted" }, "No column lineage for this field."));
}

// fieldsPanel returns a card listing the asset's fields; clicking one shows
// its column lineage below. assetHref(name) links an asset's page.
export function fieldsPanel(asset, assetHref) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading\u2026"));
  const lineage = h("div", { class: "column-lineage-box" });
  const card = h("section", { class: "card fields-panel" }, h("h2", {}, "Fields"), body, lineage);
  const show = (column) => columnLineageBox(lineage, asset, column, assetHref)
    .catch((err) => replace(lineage, h("p", { class: "error" }, err.message)));
  api("GET", `/assets/${seg(asset.name)}/versions`, { optional: true }).then((res) => {
    const versions = res?.versions || [];
    if (!versions.length) {
      replace(body, h("p", { class: "muted" }, "No schema recorded: fields come from OpenLineage's schema facet."));
      return;
    }
    const v = versions[0];
    replace(body,
      h("p", { class: "muted" }, `Version ${v.version} of ${versions.length}`, v.run_id ? [" \u00b7 produced by run ", h("a", { href: "#/runs/" + seg(v.run_id) }, shortId(v.run_id))] : null, " \u00b7 ", fmtTime(v.created_at)),
      h("table", { class: "grid fields" },
        h("thead", {}, h("tr", {}, ["Field", "Type", "Description"].map((x) => h("th", {}, x)))),
        h("tbody", {}, v.fields.map((f) => h("tr", {},
          h("td", {}, h("button", { class: "btn small field-link", type: "button", title: "Show this column's lineage", on: { click: () => show(f.name) } }, f.name)),
          h("td", { class: "mono" }, f.type || "\u2014"),
          h("td", {}, f.description || ""))))));
  }).catch((err) => replace(body, h("p", { class: "error" }, err.message)));
  return card;
}
