package console_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// TestConsoleServing checks how the binary serves the console, without a
// browser: the redirect, the files, their types and caching, the strict
// Content-Security-Policy, no key needed, 404s that never leave the console's
// files, and source that never writes data as HTML.
func TestConsoleServing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, header map[string]string) (*http.Response, string) {
		t.Helper()
		r, err := http.NewRequest(http.MethodGet, e.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			r.Header.Set(k, v)
		}
		res, err := noFollow.Do(r)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer func() { _ = res.Body.Close() }()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, string(body)
	}

	for path, want := range map[string]string{"/ui": "/ui/", "/ui?x=1": "/ui/?x=1"} {
		res, _ := get(path, nil)
		if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != want {
			t.Errorf("GET %s: %d Location %q, want 301 to %s", path, res.StatusCode, res.Header.Get("Location"), want)
		}
	}

	res, index := get("/ui/", nil)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /ui/: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q allows unsafe sources", csp)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("no nosniff on /ui/")
	}
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Error("no ETag on /ui/")
	} else if res, _ := get("/ui/", map[string]string{"If-None-Match": etag}); res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", res.StatusCode)
	}
	// No inline script, style or handler: the CSP would block them anyway.
	if m := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>`).FindAllString(index, -1); len(m) != 1 || !strings.Contains(m[0], `src="app.js"`) {
		t.Errorf("index.html scripts %v, want only the app.js module", m)
	}
	if m := regexp.MustCompile(`(?i)\s(on[a-z]+|style)\s*=`).FindString(index); m != "" {
		t.Errorf("index.html has an inline %s attribute", m)
	}

	// Every module app.js imports, transitively, is served as JavaScript
	// and never writes markup from strings.
	importRe := regexp.MustCompile(`(?m)^import .* from "\./([a-z0-9_-]+\.js)";`)
	unsafeRe := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(`)
	seen := map[string]bool{}
	queue := []string{"app.js"}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		res, src := get("/ui/"+name, nil)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("GET /ui/%s: %d %s", name, res.StatusCode, res.Header.Get("Content-Type"))
			continue
		}
		if res.Header.Get("Content-Security-Policy") != csp {
			t.Errorf("/ui/%s has CSP %q", name, res.Header.Get("Content-Security-Policy"))
		}
		if m := unsafeRe.FindString(src); m != "" {
			t.Errorf("%s uses %s", name, m)
		}
		for _, m := range importRe.FindAllStringSubmatch(src, -1) {
			queue = append(queue, m[1])
		}
	}
	if len(seen) < 4 {
		t.Errorf("app.js imports only %v", seen)
	}
	for name, typ := range map[string]string{"app.css": "text/css", "favicon.svg": "image/svg+xml"} {
		if res, _ := get("/ui/"+name, nil); res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), typ) {
			t.Errorf("GET /ui/%s: %d %s", name, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}

	// Anything else is a JSON 404, and nothing outside the console leaks.
	for _, p := range []string{"/ui/nope.js", "/ui/../console.go", "/ui/%2e%2e/console.go", "/ui/ui/app.js", "/uix", "/ui/vendor/"} {
		e.must(http.StatusNotFound, req{method: "GET", path: p})
	}
}

// browser is a headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

// newBrowser starts Debian's Chromium with a fresh profile. It fails (never
// skips) when the browser is missing.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the console's browser test needs Chromium at %s (%v): install it with `apt-get update && apt-get install -y chromium` (.ci/run does so)", chromiumPath, err)
	}
	profile := t.TempDir() // removed after the browser has exited (cleanups run last-in first-out)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx}
	// The first Do starts the browser and ties its life to its context, so
	// it gets the tab's context itself, with no timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium at %s: %v", chromiumPath, err)
	}
	done := make(chan struct{})
	messages := chromedp.Console(ctx)
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.messages = append(b.messages, m)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("set the viewport: %v", err)
	}
	return b
}

// do runs steps, failing the test after 20s or on error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\n%s", what, err, b.page())
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, js string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds; it reports whether
// it did within d.
func (b *browser) waitFor(js string, d time.Duration) bool {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil && !errors.Is(err, chromedp.ErrPollingTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		b.t.Fatalf("poll %s: %v", js, err)
	}
	return err == nil
}

// must waits up to 15s for a condition and fails with what otherwise.
func (b *browser) must(what, js string) {
	b.t.Helper()
	if !b.waitFor(js, 15*time.Second) {
		b.t.Fatalf("%s: still not true after 15s: %s\n%s", what, js, b.page())
	}
}

// page describes where the browser is, for failure messages.
func (b *browser) page() string {
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + (document.querySelector("main")?.innerText ?? "").slice(0, 1500)`))
	return "page: " + s
}

// clickNode clicks the centre of a lineage graph node with the mouse,
// after checking that the node is what the mouse will hit.
func (b *browser) clickNode(name string) {
	b.t.Helper()
	q := fmt.Sprintf("[...document.querySelectorAll('svg.lineage g.node')].find(g => g.dataset.name === %q)", name)
	pt := eval[[]float64](b, fmt.Sprintf(`(() => { const g = %s; if (!g) return []; const r = g.querySelector("rect.box").getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`, q))
	if len(pt) != 2 {
		b.t.Fatalf("no node %q in the graph\n%s", name, b.page())
	}
	hit := eval[string](b, fmt.Sprintf(`document.elementFromPoint(%f, %f)?.closest("g.node")?.dataset.name ?? ""`, pt[0], pt[1]))
	if hit != name {
		b.t.Fatalf("the node %q is hidden at (%.0f, %.0f): the mouse would hit %q", name, pt[0], pt[1], hit)
	}
	b.do("click "+name, chromedp.MouseClickXY(pt[0], pt[1]))
}

// screenshot saves the viewport as PNG at path.
func (b *browser) screenshot(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot of the lineage page: %s (%d bytes)", path, len(png))
}

// moduleRoot is the directory of go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// lineageCount asks the API how many nodes (with the root) and edges the
// lineage of name has at depth, and how many edges of each type.
func lineageCount(e *env, key, name string, depth int) (nodes, edges int, byType map[string]int) {
	e.t.Helper()
	var l struct {
		Nodes []struct{} `json:"nodes"`
		Edges []struct {
			Type string `json:"dependency_type"`
		} `json:"edges"`
	}
	e.must(http.StatusOK, req{method: "GET", key: key,
		path: fmt.Sprintf("/api/v1/assets/%s/lineage?direction=both&depth=%d", url.PathEscape(name), depth)}).json(e.t, &l)
	byType = map[string]int{}
	for _, x := range l.Edges {
		byType[x.Type]++
	}
	return len(l.Nodes) + 1, len(l.Edges), byType
}

// bigGraphJS draws a 500-node lineage (250 assets upstream of a root, 249
// downstream, a third of them with a second edge) with the console's graph
// module, off to the side of the page, and reports on it.
const bigGraphJS = `(async () => {
	const { renderGraph, NODE_H } = await import("/ui/graph.js");
	let seed = 42;
	const rnd = (n) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
	const nodes = [{ id: "root", name: "root", root: true }];
	const edges = [];
	const types = ["data", "metadata", "control"];
	for (let i = 1; i <= 499; i++) {
		const up = i <= 250;
		const side = up ? "up" : "down";
		const first = up ? 1 : 251;
		const id = side + i;
		nodes.push({ id, name: "warehouse." + side + "stream_table_" + i, direction: up ? "upstream" : "downstream", depth: 1 });
		const pick = () => { const k = rnd(i - first + 1); return k === 0 ? "root" : side + (first + k - 1); };
		const p = pick();
		edges.push(up ? { from: id, to: p, type: "data" } : { from: p, to: id, type: "data" });
		const q = pick();
		if (rnd(3) === 0 && q !== p) edges.push(up ? { from: id, to: q, type: types[rnd(3)] } : { from: q, to: id, type: types[rnd(3)] });
	}
	const box = document.createElement("div");
	box.className = "graph";
	document.body.append(box);
	const t0 = performance.now();
	const ctl = renderGraph(box, { nodes, edges });
	ctl.initial("root");
	const ms = performance.now() - t0;
	const pos = [...box.querySelectorAll("g.node")].map((g) => {
		const m = /translate\(([-0-9.]+),([-0-9.]+)\)/.exec(g.getAttribute("transform"));
		return { id: g.dataset.id, x: +m[1], y: +m[2] };
	});
	const at = new Map(pos.map((p) => [p.id, p]));
	pos.sort((a, b) => a.x - b.x || a.y - b.y);
	let overlaps = 0;
	for (let i = 1; i < pos.length; i++) if (pos[i].x === pos[i - 1].x && pos[i].y - pos[i - 1].y < NODE_H) overlaps++;
	let backward = 0;
	for (const e of edges) if (!(at.get(e.from).x < at.get(e.to).x)) backward++;
	const m = /scale\(([0-9.]+)\)/.exec(box.querySelector("g.viewport").getAttribute("transform"));
	const frame = box.getBoundingClientRect();
	const root = box.querySelector("g.node-root").getBoundingClientRect();
	const rootInView = root.left >= frame.left && root.right <= frame.right && root.top >= frame.top && root.bottom <= frame.bottom ? 1 : 0;
	const out = { nodes: pos.length, edges: box.querySelectorAll("path.edge").length, wantEdges: edges.length, overlaps, backward, ms, scale: +m[1], rootInView };
	box.remove();
	return out;
})()`

// xssName is an asset name that would run script if the console wrote names
// as HTML.
const xssName = `<img src=x onerror="window.__xss=1">`

// seedLineage creates a revenue mart with sixteen assets upstream of it
// and fourteen downstream at depth 2, a few deeper, edges of the three
// types, and names with quotes, slashes, spaces and markup. It answers how
// many assets it created.
func seedLineage(e *env, key string) (assets int) {
	e.t.Helper()
	type edge struct{ up, down, typ string }
	edges := []edge{
		{"staging.orders", "mart.revenue", "data"},
		{"staging.payments", "mart.revenue", "data"},
		{"staging.customers", "mart.revenue", "data"},
		{"staging.refunds", "mart.revenue", "data"},
		{"ref.fx_rates", "mart.revenue", "metadata"},
		{"ops.nightly_schedule", "mart.revenue", "control"},
		{"ref.currencies", "mart.revenue", "metadata"},
		{"raw.orders", "staging.orders", "data"},
		{"raw.order_items", "staging.orders", "data"},
		{"raw.payments", "staging.payments", "data"},
		{"raw.stripe_events", "staging.payments", "data"},
		{"raw.customers", "staging.customers", "data"},
		{"raw.crm_contacts", "staging.customers", "data"},
		{"raw.refunds", "staging.refunds", "data"},
		{"s3://landing/fx/rates.csv", "ref.fx_rates", "data"},
		{"ref.currencies", "ref.fx_rates", "metadata"},
		{"ops.calendar", "ops.nightly_schedule", "control"},
		{"kafka://shop/orders", "raw.orders", "data"},
		{"postgres://shop/public.customers", "raw.customers", "data"},
		{"mart.revenue", "report.finance_daily", "data"},
		{"mart.revenue", "ml.churn_features", "data"},
		{"mart.revenue", `dash/exec "KPIs"`, "data"},
		{"mart.revenue", "export.revenue_to_sftp", "control"},
		{"mart.revenue", "audit.revenue_checks", "metadata"},
		{"report.finance_daily", "dash/finance overview", "data"},
		{"report.finance_daily", "alerts.revenue_drop", "data"},
		{"report.finance_daily", "report.board_pack", "data"},
		{"ml.churn_features", "ml.churn_model", "data"},
		{"ml.churn_features", "ml.ltv_model", "data"},
		{"ml.churn_features", "ml.feature_store_snapshot", "data"},
		{`dash/exec "KPIs"`, xssName, "data"},
		{"export.revenue_to_sftp", "sftp://partner/revenue.csv", "control"},
		{"audit.revenue_checks", "audit.sox_evidence", "metadata"},
		{"ml.churn_model", "ml.churn_scores", "data"},
		{"alerts.revenue_drop", "notify: #finance-alerts", "control"},
	}
	typeOf := func(name string) string {
		switch {
		case strings.Contains(name, "://"):
			return "external"
		case strings.HasPrefix(name, "dash/"):
			return "dashboard"
		case strings.HasPrefix(name, "ml."):
			return "model"
		case strings.HasPrefix(name, "ops."), strings.HasPrefix(name, "notify:"), strings.HasPrefix(name, "alerts."):
			return "job"
		case strings.HasPrefix(name, "report."), strings.HasPrefix(name, "export."):
			return "report"
		}
		return "table"
	}
	created := map[string]bool{}
	for _, d := range edges {
		for _, n := range []string{d.up, d.down} {
			if created[n] {
				continue
			}
			created[n] = true
			owner := "data-eng"
			if strings.HasPrefix(n, "ml.") {
				owner = "ml-platform"
			}
			e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: key, body: map[string]any{
				"name": n, "asset_type": typeOf(n), "owner": owner, "tags": []string{strings.SplitN(strings.SplitN(n, ".", 2)[0], ":", 2)[0]},
				"description": "Seeded by the browser test.",
			}})
		}
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/dependencies", key: key,
			body: map[string]any{"upstream": d.up, "downstream": d.down, "dependency_type": d.typ}})
	}
	return len(created)
}

// TestConsoleInBrowser drives the console in headless Chromium: sign in
// with a key, find an asset, see its lineage graph with the right nodes and
// edges, change the depth, click through to an upstream asset, materialize
// an observed asset and watch the run on the runs page. It saves a
// screenshot of the lineage page at 1280x800 to $SERVO_UI_SCREENSHOT (a
// relative path is taken from the repository root: docs/console.png is the
// README's), or to a temporary directory.
func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	assets := seedLineage(e, e.keyA)
	b := newBrowser(t)

	// Sign in: /ui redirects to /ui/, a wrong key is refused, the right
	// one opens the assets page.
	b.do("open /ui", chromedp.Navigate(e.url+"/ui"), chromedp.WaitVisible(chromedp.ID("api-key")))
	if loc := eval[string](b, "location.pathname"); loc != "/ui/" {
		t.Errorf("/ui led to %s, want /ui/", loc)
	}
	b.do("type a wrong key", chromedp.SendKeys(chromedp.ID("api-key"), "servo_not_a_key"), chromedp.Click(chromedp.ID("signin-submit")))
	b.must("a wrong key is refused", `document.querySelector(".form-error")?.textContent.includes("not accepted")`)
	b.do("sign in", chromedp.Evaluate[chromedp.Void](`document.getElementById("api-key").value = ""`), chromedp.SendKeys(chromedp.ID("api-key"), e.keyA), chromedp.Click(chromedp.ID("signin-submit")))
	b.must("the assets page lists the assets", fmt.Sprintf(`document.querySelectorAll("main a.asset-link").length === %d`, assets))
	if key := eval[string](b, `sessionStorage.getItem("servo.apiKey")`); key != e.keyA {
		t.Errorf("the key is not kept in sessionStorage")
	}
	// Names are text, never markup.
	b.must("the markup name shows as text", fmt.Sprintf(`[...document.querySelectorAll("main a.asset-link")].some(a => a.textContent === %q)`, xssName))
	if n := eval[int](b, `document.querySelectorAll("main img").length + (window.__xss ? 1000 : 0)`); n != 0 {
		t.Fatalf("an asset name was rendered as HTML")
	}

	// Search by name prefix, then open the asset.
	b.do("search", chromedp.SetValue(chromedp.ID("asset-q"), "mart."), chromedp.Click(chromedp.CSS("#asset-filters button[type=submit]")))
	b.must("the search finds one asset", `location.hash.includes("q=mart.") && document.querySelectorAll("main a.asset-link").length === 1`)
	b.do("open mart.revenue", chromedp.Click(chromedp.CSS("main a.asset-link")))
	b.must("the asset page opens", `document.querySelector("h1.title")?.textContent === "mart.revenue"`)

	// The graph at the default depth, 3: every node and edge of the API's
	// answer, edge types told apart.
	nodes3, edges3, types3 := lineageCount(e, e.keyA, "mart.revenue", 3)
	nodes2, edges2, _ := lineageCount(e, e.keyA, "mart.revenue", 2)
	if nodes3 <= nodes2 || nodes2 < 30 {
		t.Fatalf("seed: %d nodes at depth 3, %d at depth 2", nodes3, nodes2)
	}
	b.must("the lineage graph shows every node", fmt.Sprintf(`document.querySelectorAll("svg.lineage g.node").length === %d`, nodes3))
	if n := eval[int](b, `document.querySelectorAll("svg.lineage path.edge").length`); n != edges3 {
		t.Errorf("%d edges drawn, want %d", n, edges3)
	}
	for typ, want := range types3 {
		if n := eval[int](b, fmt.Sprintf(`document.querySelectorAll("svg.lineage path.edge-%s").length`, typ)); n != want {
			t.Errorf("%d %s edges drawn, want %d", n, typ, want)
		}
	}
	if n := eval[int](b, `new Set([...document.querySelectorAll("svg.lineage path.edge")].map(p => p.getAttribute("stroke") + "/" + (p.getAttribute("stroke-dasharray") ?? ""))).size`); n != 3 {
		t.Errorf("%d distinct edge styles, want 3 (data, metadata, control)", n)
	}
	if n := eval[int](b, `document.querySelectorAll(".legend .legend-item").length`); n < 3 {
		t.Errorf("the legend has %d items", n)
	}
	if n := eval[int](b, `document.querySelectorAll("svg.lineage g.node-root").length`); n != 1 {
		t.Errorf("%d root nodes", n)
	}

	// The depth control: one less level.
	b.do("lower the depth", chromedp.Click(chromedp.CSS(`button[aria-label="Less depth"]`)))
	b.must("the graph shows depth 2", fmt.Sprintf(`location.hash.includes("depth=2") && document.querySelectorAll("svg.lineage g.node").length === %d`, nodes2))
	if n := eval[int](b, `document.querySelectorAll("svg.lineage path.edge").length`); n != edges2 {
		t.Errorf("%d edges drawn at depth 2, want %d", n, edges2)
	}
	// Laid out left to right without overlaps, every node in view.
	overlaps := eval[[]string](b, `(() => {
		const svg = document.querySelector("svg.lineage").getBoundingClientRect();
		const rs = [...document.querySelectorAll("svg.lineage g.node")].map(g => [g.dataset.name, g.querySelector("rect.box").getBoundingClientRect()]);
		const out = [];
		for (let i = 0; i < rs.length; i++) {
			const [n, a] = rs[i];
			if (a.left < svg.left || a.right > svg.right || a.top < svg.top || a.bottom > svg.bottom) out.push(n + " is out of view");
			for (let j = i + 1; j < rs.length; j++) {
				const b = rs[j][1];
				if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) out.push(n + " overlaps " + rs[j][0]);
			}
		}
		return out;
	})()`)
	if len(overlaps) > 0 {
		t.Errorf("graph layout: %s", strings.Join(overlaps, "; "))
	}
	if bad := eval[[]string](b, `[...document.querySelectorAll("svg.lineage g.node")].filter(g => { const up = g.dataset.direction === "upstream", x = g.getBoundingClientRect().x, root = document.querySelector("svg.lineage g.node-root").getBoundingClientRect().x; return g.dataset.direction !== "root" && (up ? x >= root : x <= root); }).map(g => g.dataset.name)`); len(bad) > 0 {
		t.Errorf("not left to right: %v are on the wrong side of the root", bad)
	}

	shot := os.Getenv("SERVO_UI_SCREENSHOT")
	switch {
	case shot == "":
		shot = filepath.Join(t.TempDir(), "console.png")
	case !filepath.IsAbs(shot):
		shot = filepath.Join(moduleRoot(t), shot) // docs/console.png is the README's
	}
	b.do("move the mouse off the graph", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 5), chromedp.Sleep(300*time.Millisecond))
	b.screenshot(shot)

	// 500 nodes: the console's own graph module lays them out and draws
	// them without overlaps, and opens readable around the root. The time
	// it took is logged, not asserted: a loaded machine makes it vary.
	big := eval[map[string]float64](b, bigGraphJS, chromedp.EvalAwaitPromise)
	if big["nodes"] != 500 || big["edges"] != big["wantEdges"] || big["overlaps"] != 0 || big["backward"] != 0 {
		t.Errorf("500-node graph: %v", big)
	}
	if big["scale"] < 0.5 || big["rootInView"] != 1 {
		t.Errorf("500-node graph opens at scale %.2f with the root in view %v: unreadable", big["scale"], big["rootInView"])
	}
	t.Logf("500-node graph: %.0f edges, laid out and drawn in %.0f ms", big["edges"], big["ms"])

	// Click through to an upstream node: the page moves to it.
	b.clickNode("staging.orders")
	b.must("the upstream asset opens", `document.querySelector("h1.title")?.textContent === "staging.orders" && location.hash.startsWith("#/assets/staging.orders")`)
	nodesUp, _, _ := lineageCount(e, e.keyA, "staging.orders", 2)
	b.must("its own graph is drawn", fmt.Sprintf(`document.querySelectorAll("svg.lineage g.node").length === %d && document.querySelector("svg.lineage g.node-root")?.dataset.name === "staging.orders"`, nodesUp))

	// Lineage as text from the page.
	b.do("show DOT", chromedp.Click(chromedp.CSS(".export-box summary")), chromedp.Click(chromedp.CSS(`button[data-format="dot"]`)))
	b.must("the DOT text shows", `document.getElementById("lineage-text").textContent.startsWith("digraph lineage {")`)

	// Workflows with their versions, and the trigger button.
	for _, assets := range [][]string{{"raw.orders", "staging.orders"}, {"raw.orders", "staging.orders", "mart.revenue"}} {
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/workflows", key: e.keyA, body: map[string]any{"name": "nightly revenue", "assets": assets}})
	}
	b.do("open the workflows", chromedp.Click(chromedp.CSS(`#nav a[href="#/workflows"]`)))
	b.must("the workflow is listed", `[...document.querySelectorAll("main td a")].some(a => a.textContent === "nightly revenue")`)
	b.do("open the workflow", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("main td a")].find(a => a.textContent === "nightly revenue").click()`))
	b.must("the workflow page shows both versions and the latest's assets", `document.querySelector("h1.title")?.textContent === "nightly revenue" && document.querySelectorAll("main tr.current").length === 1 && document.querySelectorAll("main .asset-list li").length === 3 && document.querySelector("main a[href*='version=1']") !== null`)
	b.do("trigger", chromedp.Click(chromedp.ID("trigger")))
	b.must("the triggered run opens", `/^#\/runs\/[0-9a-f-]{36}$/.test(location.hash) && document.querySelector("h1.title")?.textContent.startsWith("Run ") && document.querySelector("main a[href^='#/workflows/']")?.textContent === "nightly revenue v2"`)

	// Materialize the observed asset (it has no compute spec) and watch
	// the run on the runs page.
	b.do("back to the asset", chromedp.NavigateBack(), chromedp.NavigateBack(), chromedp.NavigateBack())
	b.must("the asset page is back", `document.querySelector("h1.title")?.textContent === "staging.orders"`)
	b.do("materialize", chromedp.Click(chromedp.ID("materialize")))
	b.must("the run page opens", `/^#\/runs\/[0-9a-f-]{36}$/.test(location.hash) && document.querySelector("h1.title")?.textContent.startsWith("Run ") && document.querySelector("main a[href^='#/assets/']")?.textContent === "staging.orders"`)
	runID := strings.TrimPrefix(eval[string](b, "location.hash"), "#/runs/")
	// Events and logs show when the server has the endpoints, and nothing
	// shows when they answer 404.
	for _, x := range []struct{ path, box string }{{"events", "run-events"}, {"logs", "run-logs-box"}} {
		status := eval[int](b, fmt.Sprintf(`fetch("/api/v1/runs/%s/%s", {headers: {Authorization: "Bearer " + sessionStorage.getItem("servo.apiKey")}}).then(r => r.status)`, runID, x.path), chromedp.EvalAwaitPromise)
		switch status {
		case http.StatusOK:
			b.must("the run's "+x.path+" show", fmt.Sprintf(`!document.getElementById(%q).hidden`, x.box))
		case http.StatusNotFound:
			if !eval[bool](b, fmt.Sprintf(`document.getElementById(%q).hidden`, x.box)) {
				t.Errorf("the run page shows %s although the endpoint answers 404", x.path)
			}
		default:
			t.Errorf("GET /runs/{id}/%s: status %d", x.path, status)
		}
	}
	b.do("open the runs page", chromedp.Evaluate[chromedp.Void](`location.hash = "#/runs"`))
	row := fmt.Sprintf(`document.querySelector('#runs-body tr[data-run-id=%q]')`, runID)
	b.must("the run is listed", row+` !== null`)
	if !b.waitFor(row+`?.querySelector(".status")?.dataset.status === "success"`, 20*time.Second) {
		status := eval[string](b, row+`?.querySelector(".status")?.dataset.status ?? "missing"`)
		t.Errorf("the materialization %s of the observed asset staging.orders is still %q on the runs page after 20s, want success: "+
			"runs only move when the run runtime executes them; until it is built and started by the test server (newEnv), runs stay pending", runID, status)
	}

	// No script error and no CSP violation along the way.
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.messages {
		if m.IsException() || m.Source == "security" || strings.Contains(m.Text, "Content Security Policy") || (m.Type == "error" && m.Source != "network") {
			t.Errorf("browser console: %s %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1)
		}
	}
}
