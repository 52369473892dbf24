package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// backfillView is the API's backfill.
type backfillView struct {
	ID              string  `json:"id"`
	State           string  `json:"state"`
	AssetID         *string `json:"asset_id"`
	WorkflowID      *string `json:"workflow_id"`
	MaxConcurrency  int     `json:"max_concurrency"`
	Total           int     `json:"total"`
	Pending         int     `json:"pending"`
	WaitingUpstream int     `json:"waiting_upstream"`
	Running         int     `json:"running"`
	Succeeded       int     `json:"succeeded"`
	Failed          int     `json:"failed"`
	Cancelled       int     `json:"cancelled"`
	Skipped         int     `json:"skipped"`
	CreatedAt       string  `json:"created_at"`
}

func (b *backfillView) done() int { return b.Succeeded + b.Failed + b.Cancelled + b.Skipped }

func (b *backfillView) over() bool {
	return b.State == "succeeded" || b.State == "failed" || b.State == "cancelled"
}

// progressLine renders a backfill as one line with a bar of width cells.
func progressLine(b *backfillView, width int) string {
	filled := 0
	if b.Total > 0 {
		filled = b.done() * width / b.Total
	}
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	return fmt.Sprintf("[%s] %d/%d %-9s running %d, waiting %d, failed %d, cancelled %d, skipped %d",
		bar, b.done(), b.Total, b.State, b.Running, b.WaitingUpstream, b.Failed, b.Cancelled, b.Skipped)
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newBackfillsCmd(a *app) *cobra.Command {
	client := &apiClient{http: &http.Client{Timeout: 30 * time.Second}}
	cmd := &cobra.Command{
		Use:   "backfills",
		Short: "Create, follow and steer backfills over the HTTP API",
		Long: "Create, follow and steer backfills through a running server's HTTP API, with a\n" +
			"tenant's API key. On a terminal, create --watch and show --watch draw a live\n" +
			"progress bar; elsewhere they print a line per change.",
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().StringVar(&client.base, "server", "http://127.0.0.1:8080", "the server's base URL")
	cmd.PersistentFlags().StringVar(&client.key, "api-key", "", "a tenant's API key")
	needKey := func() error {
		if client.key == "" {
			return errors.New("--api-key is required")
		}
		return nil
	}

	var asset, workflow, start, end string
	var keys []string
	var conc int
	var skip, noWait, watch bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Start a backfill of an asset or workflow over keys or a range",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needKey(); err != nil {
				return err
			}
			body := map[string]any{"max_concurrency": conc, "skip_materialized": skip, "wait_for_upstream": !noWait}
			if asset != "" {
				body["asset"] = asset
			}
			if workflow != "" {
				body["workflow"] = workflow
			}
			if len(keys) > 0 {
				body["partition_keys"] = keys
			}
			if start != "" || end != "" {
				body["range"] = map[string]string{"start": start, "end": end}
			}
			var out struct {
				Backfill backfillView `json:"backfill"`
			}
			if err := client.do(cmd.Context(), http.MethodPost, "/api/v1/backfills", body, &out); err != nil {
				return err
			}
			if !watch {
				_, err := fmt.Fprintf(a.stdout, "%s\n%s\n", out.Backfill.ID, progressLine(&out.Backfill, 30))
				return err
			}
			_, _ = fmt.Fprintln(a.stdout, out.Backfill.ID)
			return a.watchBackfill(cmd.Context(), client, out.Backfill.ID)
		},
	}
	create.Flags().StringVar(&asset, "asset", "", "the asset (name or id)")
	create.Flags().StringVar(&workflow, "workflow", "", "the workflow (name or id)")
	create.Flags().StringSliceVar(&keys, "keys", nil, "partition keys, comma-separated")
	create.Flags().StringVar(&start, "start", "", "first key of the range")
	create.Flags().StringVar(&end, "end", "", "last key of the range (included)")
	create.Flags().IntVar(&conc, "max-concurrency", 4, "partitions running at once (1-100)")
	create.Flags().BoolVar(&skip, "skip-materialized", false, "skip partitions whose latest run succeeded")
	create.Flags().BoolVar(&noWait, "no-wait-for-upstream", false, "launch without waiting for upstream partitions")
	create.Flags().BoolVar(&watch, "watch", false, "follow the backfill until it ends")

	var state string
	list := &cobra.Command{
		Use:   "list",
		Short: "List backfills, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needKey(); err != nil {
				return err
			}
			path := "/api/v1/backfills?limit=100"
			if state != "" {
				path += "&state=" + url.QueryEscape(state)
			}
			var out struct {
				Backfills []backfillView `json:"backfills"`
			}
			if err := client.do(cmd.Context(), http.MethodGet, path, nil, &out); err != nil {
				return err
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			_, _ = fmt.Fprintln(w, "ID\tSTATE\tDONE\tTOTAL\tRUNNING\tFAILED\tCREATED")
			for _, b := range out.Backfills {
				_, _ = fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", b.ID, b.State, b.done(), b.Total, b.Running, b.Failed, b.CreatedAt)
			}
			return w.Flush()
		},
	}
	list.Flags().StringVar(&state, "state", "", "only backfills in this state")

	var showWatch bool
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a backfill's progress",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needKey(); err != nil {
				return err
			}
			if showWatch {
				return a.watchBackfill(cmd.Context(), client, args[0])
			}
			b, err := getBackfill(cmd.Context(), client, args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, progressLine(b, 30))
			return err
		},
	}
	show.Flags().BoolVar(&showWatch, "watch", false, "follow the backfill until it ends")

	cmd.AddCommand(create, list, show)
	for _, act := range []string{"pause", "resume", "cancel", "retry-failed"} {
		cmd.AddCommand(&cobra.Command{
			Use:   act + " ID",
			Short: strings.ToUpper(act[:1]) + strings.ReplaceAll(act[1:], "-", " ") + " a backfill",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := needKey(); err != nil {
					return err
				}
				var out struct {
					Backfill backfillView `json:"backfill"`
				}
				if err := client.do(cmd.Context(), http.MethodPost, "/api/v1/backfills/"+url.PathEscape(args[0])+"/"+act, nil, &out); err != nil {
					return err
				}
				_, err := fmt.Fprintln(a.stdout, progressLine(&out.Backfill, 30))
				return err
			},
		})
	}
	return cmd
}

func getBackfill(ctx context.Context, c *apiClient, id string) (*backfillView, error) {
	var out struct {
		Backfill backfillView `json:"backfill"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/backfills/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out.Backfill, nil
}

// watchBackfill follows a backfill until it ends: a bar redrawn in place on
// a terminal, a line per change elsewhere. It fails when the backfill does
// not succeed.
func (a *app) watchBackfill(ctx context.Context, c *apiClient, id string) error {
	tty := isTerminal(a.stdout)
	last := ""
	for {
		b, err := getBackfill(ctx, c, id)
		if err != nil {
			return err
		}
		line := progressLine(b, 40)
		switch {
		case tty:
			_, _ = fmt.Fprintf(a.stdout, "\r\033[K%s", line)
		case line != last:
			_, _ = fmt.Fprintln(a.stdout, line)
		}
		last = line
		if b.over() {
			if tty {
				_, _ = fmt.Fprintln(a.stdout)
			}
			if b.State != "succeeded" {
				return fmt.Errorf("backfill %s ended %s", id, b.State)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
