package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleShowsChecks drives the console in headless Chromium: the asset
// page lists the asset's checks with their last outcomes, the lineage graph
// marks the asset whose blocking check failed, and the run page shows the
// results with their failed samples as text.
func TestConsoleShowsChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.asset(e.keyA, "orders")
	e.asset(e.keyA, "report")
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/dependencies", key: e.keyA, body: map[string]any{"upstream": "orders", "downstream": "report"}})
	for _, c := range []map[string]any{
		{"asset_id": "orders", "name": "id_not_null", "check_type": map[string]any{"type": "not_null", "columns": []string{"id"}}},
		{"asset_id": "orders", "name": "soft", "severity": "warning", "check_type": map[string]any{"type": "row_count", "min": 1}},
		{"asset_id": "report", "name": "report_soft", "severity": "warning", "check_type": map[string]any{"type": "row_count", "min": 1}},
	} {
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/checks", key: e.keyA, body: c})
	}
	var trig struct {
		RunID string `json:"run_id"`
	}
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/materialize", key: e.keyA, body: map[string]any{"asset_name": "orders"}}).json(t, &trig)
	e.waitStatus(e.keyA, trig.RunID)
	markup := `<img src=x onerror=window.__xss=1>`
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/runs/" + trig.RunID + "/check-results", key: e.keyA, body: map[string]any{
		"check_results": []any{map[string]any{"check_name": "id_not_null", "status": "failed", "rows_failed": 2, "message": "2 null ids",
			"details": map[string]any{"failed_samples": []any{map[string]any{"id": nil, "note": markup}}}}}}})

	b := newBrowser(t)
	b.do("open /ui", chromedp.Navigate(e.url+"/ui/"), chromedp.WaitVisible(chromedp.ID("api-key")))
	b.do("sign in", chromedp.SendKeys(chromedp.ID("api-key"), e.keyA), chromedp.Click(chromedp.ID("signin-submit")))
	b.must("signed in", `document.querySelectorAll("main a.asset-link").length === 2`)

	b.do("open orders", chromedp.Evaluate[chromedp.Void](`location.hash = "#/assets/orders"`))
	b.must("the asset page lists its checks with their last outcomes",
		`document.querySelector('#asset-checks tr[data-check="id_not_null"] [data-outcome]')?.dataset.outcome === "failed" && `+
			`document.querySelector('#asset-checks tr[data-check="soft"] [data-outcome]')?.dataset.outcome === "skipped"`)
	b.must("the graph marks the asset whose blocking check failed", `document.querySelector('svg.lineage g.node[data-name="orders"]')?.classList.contains("check-failed")`)
	if eval[bool](b, `document.querySelector('svg.lineage g.node[data-name="report"]').classList.contains("check-failed")`) {
		t.Error("the graph marks report, whose only check is a warning")
	}

	b.do("open the run", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = "#/runs/%s"`, trig.RunID)))
	b.must("the run page shows the check results", `!document.getElementById("run-checks")?.hidden && document.querySelectorAll('#run-checks tr[data-check]').length === 3`)
	sample := eval[string](b, `document.querySelector('#run-checks tr[data-check="id_not_null"] .check-details pre')?.textContent ?? ""`)
	if !strings.Contains(sample, "failed_samples") || !strings.Contains(sample, markup) {
		t.Errorf("failed samples shown as %q", sample)
	}
	if n := eval[int](b, `document.querySelectorAll("main img").length + (window.__xss ? 1000 : 0)`); n != 0 {
		t.Fatal("a failed sample was rendered as HTML")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.messages {
		if m.IsException() || m.Source == "security" || strings.Contains(m.Text, "Content Security Policy") || (m.Type == "error" && m.Source != "network") {
			t.Errorf("browser console: %s %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1)
		}
	}
}
