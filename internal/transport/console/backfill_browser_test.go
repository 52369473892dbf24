package console_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleBackfillPage opens a paused backfill in the console: the
// progress bar, the grid with a cell per partition coloured by state, and
// the buttons, whose resume and cancel change the backfill.
func TestConsoleBackfillPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := e.keyA
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/assets", key: k,
		body: map[string]any{"name": "ui.daily", "partitions": map[string]any{"type": "time_daily", "start_date": "2026-01-01"}}})
	var b backfillBody
	e.must(http.StatusAccepted, req{method: "POST", path: "/api/v1/backfills", key: k,
		body: map[string]any{"asset": "ui.daily", "range": map[string]any{"start": "2026-01-01", "end": "2026-01-12"}, "max_concurrency": 2}}).json(t, &b)
	// Pause it before it is done, if it is not done already.
	paused := e.do(req{method: "POST", path: "/api/v1/backfills/" + b.Backfill.ID + "/pause", key: k}).status == http.StatusOK
	br := newBrowser(t)
	br.do("open the console", chromedp.Navigate(e.url+"/ui/"), chromedp.WaitVisible(chromedp.ID("api-key")))
	br.do("sign in", chromedp.SendKeys(chromedp.ID("api-key"), k), chromedp.Click(chromedp.ID("signin-submit")))
	br.must("signed in", `document.querySelector("#nav a[href='#/backfills']") !== null`)
	br.do("open the backfills", chromedp.Click(chromedp.CSS(`#nav a[href='#/backfills']`)))
	br.must("the list shows the backfill with a bar", fmt.Sprintf(`document.querySelector("tr[data-backfill-id='%s'] .bf-bar") !== null`, b.Backfill.ID))
	br.do("open it", chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-backfill-id='%s'] a`, b.Backfill.ID))))
	br.must("a cell per partition", `document.querySelectorAll("#bf-grid .bf-cell").length === 12`)
	br.must("the progress bar", `document.querySelector("#bf-summary .bf-bar[role=progressbar]") !== null`)
	if paused {
		br.must("a paused backfill offers resume and cancel", `document.getElementById("bf-resume") !== null && document.getElementById("bf-cancel") !== null && document.getElementById("bf-pause") === null`)
		br.do("resume", chromedp.Click(chromedp.ID("bf-resume")))
	}
	br.must("it ends with every cell succeeded", `document.querySelectorAll("#bf-grid .bf-cell.bf-succeeded").length === 12 && document.getElementById("bf-done")?.textContent === "12 of 12"`)
	br.must("a finished backfill offers no buttons", `document.querySelectorAll(".bf-actions button").length === 0`)
	if got := e.waitBackfill(k, b.Backfill.ID); got.Backfill.State != "succeeded" {
		t.Errorf("backfill ended %s", got.Backfill.State)
	}
}
