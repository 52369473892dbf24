// DOM helpers. Every string from the API goes into the page through
// textContent or setAttribute, never parsed as markup, so a name such as
// <img src=x onerror=...> stays text.

const SVG_NS = "http://www.w3.org/2000/svg";

// setAttrs applies attributes, properties and listeners to el:
//   class, text, dataset: {...}, on: {event: fn}, and plain attributes.
// href is accepted only for in-app links (#...) and relative paths, so data
// can never become a javascript: URL.
function setAttrs(el, attrs) {
  if (!attrs) return el;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    switch (k) {
      case "class":
        el.setAttribute("class", Array.isArray(v) ? v.filter(Boolean).join(" ") : v);
        break;
      case "text":
        el.textContent = String(v);
        break;
      case "dataset":
        for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
        break;
      case "on":
        for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
        break;
      case "href":
        if (!/^(#|\.?\/|[a-z0-9_.-]+(\?|$))/i.test(String(v)) || /^\s*javascript:/i.test(String(v))) {
          throw new Error("refusing href " + JSON.stringify(v));
        }
        el.setAttribute("href", String(v));
        break;
      case "value":
        el.value = String(v);
        break;
      case "checked":
      case "disabled":
      case "selected":
        el[k] = Boolean(v);
        break;
      default:
        el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// h builds an HTML element: h("a", {href: "#/x", class: "link"}, "text", child).
// Strings among the children become text nodes.
export function h(tag, attrs, ...children) {
  return append(setAttrs(document.createElement(tag), attrs), children);
}

// s builds an SVG element the same way.
export function s(tag, attrs, ...children) {
  return append(setAttrs(document.createElementNS(SVG_NS, tag), attrs), children);
}

// replace empties el and appends the children.
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// fmtTime shows an API timestamp in local time, YYYY-MM-DD HH:MM:SS.
export function fmtTime(v) {
  if (!v) return "";
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// fmtDuration shows the time between two timestamps (or until now).
export function fmtDuration(from, to) {
  if (!from) return "";
  const a = new Date(from).getTime();
  const b = to ? new Date(to).getTime() : Date.now();
  if (Number.isNaN(a) || Number.isNaN(b)) return "";
  let sec = Math.max(0, Math.round((b - a) / 1000));
  if (sec < 60) return `${sec}s`;
  const min = Math.floor(sec / 60);
  sec %= 60;
  if (min < 60) return `${min}m ${sec}s`;
  return `${Math.floor(min / 60)}h ${min % 60}m`;
}

// shortId shows the last 8 hex digits of a UUID: Servo's ids are UUIDv7,
// whose first digits are a timestamp that runs started together share.
export function shortId(id) {
  return String(id || "").replace(/-/g, "").slice(-8);
}

// statusBadge shows a run status in its colour.
export function statusBadge(status) {
  const st = String(status || "unknown");
  return h("span", { class: ["badge", "status", "status-" + st.replace(/[^a-z_]/g, "")], dataset: { status: st } }, st.replace("_", " "));
}

// TERMINAL lists the run statuses that no longer change.
export const TERMINAL = new Set(["success", "failed", "skipped", "upstream_failed", "cancelled"]);
