package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// env returns the value of an environment variable of the app.
func (a *app) env(name string) string {
	for _, kv := range a.environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

type cliSchedule struct {
	Name       string  `json:"name"`
	Workflow   string  `json:"workflow"`
	Cron       string  `json:"cron"`
	Timezone   string  `json:"timezone"`
	Enabled    bool    `json:"enabled"`
	NextTickAt *string `json:"next_tick_at"`
}

func newSchedulesCmd(a *app) *cobra.Command {
	var server, key string
	client := func() (*apiClient, error) {
		if server == "" {
			server = a.env("SERVO_URL")
		}
		if server == "" {
			server = "http://localhost:8080"
		}
		if key == "" {
			key = a.env("SERVO_API_KEY")
		}
		if key == "" {
			return nil, fmt.Errorf("an API key is required: --key or SERVO_API_KEY")
		}
		if _, err := url.Parse(server); err != nil {
			return nil, fmt.Errorf("--server: %w", err)
		}
		return &apiClient{base: server, key: key, http: &http.Client{Timeout: 30 * time.Second}}, nil
	}
	cmd := &cobra.Command{
		Use:   "schedules",
		Short: "List, create, pause and resume schedules over the HTTP API",
		Long: "List, create, pause and resume a tenant's schedules through a running server's HTTP API.\n" +
			"The server is --server or SERVO_URL (default http://localhost:8080); the tenant's key is\n" +
			"--key or SERVO_API_KEY.",
	}
	cmd.PersistentFlags().StringVar(&server, "server", "", "base URL of the Servo server (default $SERVO_URL or http://localhost:8080)")
	cmd.PersistentFlags().StringVar(&key, "key", "", "the tenant's API key (default $SERVO_API_KEY)")

	list := &cobra.Command{
		Use: "list", Short: "List the tenant's schedules", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct {
				Schedules []cliSchedule `json:"schedules"`
			}
			if err := c.do(cmd.Context(), http.MethodGet, "/api/v1/schedules?limit=500", nil, &out); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tWORKFLOW\tCRON\tTIMEZONE\tENABLED\tNEXT TICK")
			for _, s := range out.Schedules {
				next := "-"
				if s.NextTickAt != nil {
					next = *s.NextTickAt
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", s.Name, s.Workflow, s.Cron, s.Timezone, s.Enabled, next)
			}
			return tw.Flush()
		},
	}

	var in struct {
		workflow, cron, timezone, catchup, overlap, partition string
		maxCatchup                                            int
	}
	create := &cobra.Command{
		Use: "create NAME --workflow W --cron EXPR", Short: "Create a schedule", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			body := map[string]any{"name": args[0], "workflow": in.workflow, "cron": in.cron}
			for k, v := range map[string]string{"timezone": in.timezone, "catchup": in.catchup, "overlap": in.overlap, "partition": in.partition} {
				if v != "" {
					body[k] = v
				}
			}
			if in.maxCatchup != 0 {
				body["max_catchup"] = in.maxCatchup
			}
			var out struct {
				Schedule cliSchedule `json:"schedule"`
			}
			if err := c.do(cmd.Context(), http.MethodPost, "/api/v1/schedules", body, &out); err != nil {
				return err
			}
			next := "never"
			if out.Schedule.NextTickAt != nil {
				next = *out.Schedule.NextTickAt
			}
			_, err = fmt.Fprintf(a.stdout, "created schedule %s; next tick %s\n", out.Schedule.Name, next)
			return err
		},
	}
	create.Flags().StringVar(&in.workflow, "workflow", "", "the workflow to run (required)")
	create.Flags().StringVar(&in.cron, "cron", "", "five-field cron expression or @hourly/@daily/@weekly/@monthly (required)")
	create.Flags().StringVar(&in.timezone, "timezone", "", "IANA time zone (default UTC)")
	create.Flags().StringVar(&in.catchup, "catchup", "", "none or all (default none)")
	create.Flags().IntVar(&in.maxCatchup, "max-catchup", 0, "most missed ticks fired with --catchup all (default 10)")
	create.Flags().StringVar(&in.overlap, "overlap", "", "skip or queue (default skip)")
	create.Flags().StringVar(&in.partition, "partition", "", "none, tick_day, previous_day, tick_hour or previous_hour")
	_ = create.MarkFlagRequired("workflow")
	_ = create.MarkFlagRequired("cron")

	toggle := func(use, short string, enabled bool) *cobra.Command {
		return &cobra.Command{
			Use: use + " NAME", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := client()
				if err != nil {
					return err
				}
				var out struct {
					Schedule cliSchedule `json:"schedule"`
				}
				path := "/api/v1/schedules/" + url.PathEscape(args[0])
				if err := c.do(cmd.Context(), http.MethodPatch, path, map[string]any{"enabled": enabled}, &out); err != nil {
					return err
				}
				state := "paused"
				if out.Schedule.Enabled {
					state = "resumed; next tick " + *out.Schedule.NextTickAt
				}
				_, err = fmt.Fprintf(a.stdout, "schedule %s %s\n", out.Schedule.Name, state)
				return err
			},
		}
	}
	cmd.AddCommand(list, create, toggle("pause", "Pause a schedule", false), toggle("resume", "Resume a schedule; ticks start again from now", true))
	return cmd
}
