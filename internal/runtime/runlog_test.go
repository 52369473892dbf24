package runtime_test

import (
	"strings"
	"testing"
	"time"

	"github.com/servo-data/servo/internal/domain"
	"github.com/servo-data/servo/internal/repository"
	"github.com/servo-data/servo/internal/service"
)

// A step whose output holds NUL bytes (which PostgreSQL refuses in text)
// keeps its log, with each NUL escaped, and ends with its real outcome
// rather than as a lost worker.
func TestOutputWithNULIsKept(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, store *repository.Store) {
		cfg := fastConfig(t)
		cfg.Policy.Commands = append(cfg.Policy.Commands, "/usr/bin/printf")
		r := newRig(t, store, cfg, "")
		a := r.asset("nul-output", cmd("/usr/bin/printf", nil, `before\0after\n`))
		run := r.trigger(service.CreateRunInput{AssetID: &a.ID})
		done := r.wait(run.ID, 30*time.Second)
		if done.State != domain.StateSucceeded || done.Attempt != 1 {
			t.Fatalf("run = %s attempt %d %q, want succeeded at the first attempt", done.State, done.Attempt, done.ErrorMessage)
		}
		log, err := r.svc.RunLog(r.ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := `before\x00after` + "\n"; log.Content != want {
			t.Fatalf("log = %q, want %q", log.Content, want)
		}
		if strings.ContainsRune(log.Content, 0) {
			t.Fatalf("log holds a NUL: %q", log.Content)
		}
	})
}
