// Command servo-bench measures Servo against a local PostgreSQL, with the
// hand-written baselines that set the limit measured in the same run.
//
// It creates its own database and application role (as the tests do, from
// TEST_DATABASE_URL), seeds it as the owner with COPY, starts a real Servo
// HTTP server (store, service, runtime and API, built as `servo serve`
// builds them) and a minimal net/http + pgx baseline server, both on
// 127.0.0.1, and drives them with a closed-loop Go load generator. Each
// measurement is repeated and the median kept. It prints a table and, unless
// -out is empty, writes it into BENCHMARKS.md between the generated-section
// markers, keeping the rest of the file.
//
//	go run ./cmd/servo-bench            # the full suite (make bench)
//	go run ./cmd/servo-bench -short     # a smoke run: tiny seed, 1s measurements
//	go run ./cmd/servo-bench -only core # some sections only, printed
//	go run ./cmd/servo-bench -only point # the point-read rows of core alone
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

func main() {
	var o options
	flag.BoolVar(&o.Short, "short", false, "smoke run: tiny seed, 1-second measurements, one repetition, no BENCHMARKS.md")
	flag.DurationVar(&o.Duration, "duration", 4*time.Second, "length of one measurement")
	flag.IntVar(&o.Clients, "clients", 16, "concurrent clients of the throughput measurements")
	flag.IntVar(&o.Repeat, "repeat", 3, "repetitions of each measurement; the median is reported")
	flag.IntVar(&o.Pool, "pool", 5, "database connections of the Servo server and of each baseline pool (Servo's default is 5)")
	flag.StringVar(&o.Out, "out", "BENCHMARKS.md", "file to write the results into; empty to only print")
	flag.BoolVar(&o.SeedOnly, "seed-only", false, "seed, print the owner URL and keep the database (to EXPLAIN queries); drop it yourself")
	flag.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of one extra run of the -profile measurement to this file")
	flag.StringVar(&o.MemProfile, "memprofile", "", "write allocation profiles from before (FILE.base) and after one extra run of the -profile measurement (FILE)")
	flag.StringVar(&o.Profile, "profile", "point", "the measurement -cpuprofile and -memprofile profile: point, point-bare (its bare pgx baseline), list, lineage, lineage-full, lineage-mid or throughput")
	flag.StringVar(&o.Only, "only", "", "comma-separated sections to run (core, point for the point-read rows of core alone, and the registered ones); empty for all; prints only unless -out is given")
	flag.Parse()
	if o.Short {
		o.Duration, o.Repeat, o.Sizes = time.Second, 1, shortSizes
		if !flagSet("out") {
			o.Out = ""
		}
	} else {
		o.Sizes = fullSizes
	}
	if o.Only != "" && !flagSet("out") {
		o.Out = ""
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "servo-bench:", err)
		os.Exit(1)
	}
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// logf reports progress on stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
