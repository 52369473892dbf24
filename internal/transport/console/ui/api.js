// The API client: the key lives in sessionStorage (gone when the tab
// closes) and goes out as a Bearer token. Every call is same-origin.

const KEY = "servo.apiKey";
const PREFIX = "/api/v1";

export function getKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function setKey(k) {
  sessionStorage.setItem(KEY, k);
}

export function clearKey() {
  sessionStorage.removeItem(KEY);
}

// ApiError carries the status and the error body's code and message.
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code || "";
    this.details = details || {};
  }
}

// onUnauthorized is called when the server refuses the key (401).
let unauthorized = () => {};
export function onUnauthorized(fn) {
  unauthorized = fn;
}

// seg escapes one path segment: names may hold "/", spaces and quotes.
export function seg(v) {
  return encodeURIComponent(String(v));
}

function randomKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// api calls the JSON API. opts: query (object; empty values dropped), body
// (sent as JSON), idempotent (adds a fresh Idempotency-Key), text (read the
// body as text), optional (a 404 or 405 answers null instead of throwing:
// for endpoints that may not exist on this server yet), key (override).
export async function api(method, path, opts = {}) {
  const url = new URL(PREFIX + path, location.origin);
  for (const [k, v] of Object.entries(opts.query || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
  }
  const headers = { Authorization: "Bearer " + (opts.key ?? getKey()), Accept: opts.text ? "text/plain, */*" : "application/json" };
  let body;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  if (opts.idempotent) headers["Idempotency-Key"] = "ui-" + randomKey();
  let res;
  try {
    res = await fetch(url, { method, headers, body, cache: "no-store", credentials: "omit", signal: opts.signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "network", "The server could not be reached: " + err.message);
  }
  if (opts.optional && (res.status === 404 || res.status === 405)) return null;
  if (!res.ok) {
    let code = "", message = "", details = {};
    try {
      const e = (await res.json()).error || {};
      code = e.code;
      message = e.message;
      details = e.details;
    } catch {
      message = `HTTP ${res.status}`;
    }
    const err = new ApiError(res.status, code, message, details);
    if (res.status === 401 && opts.key === undefined) unauthorized(err);
    throw err;
  }
  if (res.status === 204) return null;
  const type = res.headers.get("Content-Type") || "";
  if (opts.text || !type.includes("json")) return { text: await res.text(), type };
  return res.json();
}

// PAGE_SIZE is how many rows a list page shows.
export const PAGE_SIZE = 50;

// listPage fetches one page of a list endpoint. The page token is opaque
// to the pages: today the API pages with limit/offset and the token is
// "o<offset>"; when the API answers next_cursor (keyset paging), the token
// becomes "c<cursor>" and goes back as ?cursor=. Only this function knows.
// It answers {items, total, estimate, from, to, next, prev}; estimate is
// true when total is an estimate (total_is_estimate); next and prev are
// tokens or null.
export async function listPage(path, field, filters, token) {
  const t = String(token || "");
  const query = { ...filters, limit: PAGE_SIZE };
  let offset = 0;
  if (t.startsWith("c")) query.cursor = t.slice(1);
  else query.offset = offset = Math.max(0, parseInt(t.slice(1), 10) || 0);
  const res = await api("GET", path, { query });
  const items = res[field] || [];
  const total = typeof res.total === "number" ? res.total : null;
  const estimate = res.total_is_estimate === true;
  if ("next_cursor" in res) {
    return { items, total, estimate, from: 0, to: 0, next: res.next_cursor ? "c" + res.next_cursor : null, prev: null };
  }
  return {
    items,
    total,
    estimate,
    from: items.length ? offset + 1 : 0,
    to: offset + items.length,
    next: total !== null && offset + items.length < total ? "o" + (offset + PAGE_SIZE) : null,
    prev: offset > 0 ? "o" + Math.max(0, offset - PAGE_SIZE) : null,
  };
}
