package console_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/servo-data/servo/internal/openlineage"
)

// TestConsoleFieldsInBrowser opens an asset fed by a Spark event in the
// console: its fields show, a click on one shows that column's lineage
// with its transformations, and the producing run's page opens by its
// runId.
func TestConsoleFieldsInBrowser(t *testing.T) {
	t.Parallel()
	e := newOLEnv(t, openlineage.Lenient)
	for _, f := range []string{"servo/spark_bigquery_start.json", "servo/spark_bigquery_complete.json"} {
		body, err := os.ReadFile(filepath.Join(olFixtures, f))
		if err != nil {
			t.Fatal(err)
		}
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/lineage", key: e.keyA, body: body})
	}
	b := newBrowser(t)
	b.do("open /ui", chromedp.Navigate(e.url+"/ui/"), chromedp.WaitVisible(chromedp.ID("api-key")))
	b.do("sign in", chromedp.SendKeys(chromedp.ID("api-key"), e.keyA), chromedp.Click(chromedp.ID("signin-submit")))
	b.must("signed in", `document.querySelectorAll("main a.asset-link").length > 0`)
	b.do("open the output dataset", chromedp.Evaluate[chromedp.Void](`location.hash = "#/assets/`+url.PathEscape("gs://acme-warehouse//marts/orders_daily")+`"`))
	b.must("its fields show", `[...document.querySelectorAll(".fields-panel button.field-link")].map(x => x.textContent).join(",") === "order_date,customer_id,total"`)
	b.must("the producing run is linked", `document.querySelector(".fields-panel a[href='#/runs/0193a1b2-7c00-7e11-8a00-00000000a002']") !== null`)
	b.do("click total", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll(".fields-panel button.field-link")].find(x => x.textContent === "total").click()`))
	b.must("its column lineage shows", `document.querySelectorAll(".column-lineage tbody tr").length === 3 && document.querySelector(".column-lineage").textContent.includes("DIRECT/AGGREGATION") && document.querySelector(".column-lineage").textContent.includes("INDIRECT/FILTER")`)
	// The run page answers to the runId every OpenLineage tool shows.
	b.do("open the producing run", chromedp.Evaluate[chromedp.Void](`document.querySelector(".fields-panel a[href^='#/runs/']").click()`))
	b.must("the run page opens", `location.hash === "#/runs/0193a1b2-7c00-7e11-8a00-00000000a002" && document.querySelector("h1.title")?.textContent.startsWith("Run ") && [...document.querySelectorAll("main dt")].find(d => d.textContent === "Trigger")?.nextElementSibling?.textContent === "openlineage"`)
}
