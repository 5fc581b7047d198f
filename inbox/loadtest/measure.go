package loadtest

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Target is what [Measure] offers load to: a fresh server of it for each
// rate, so that no rate inherits another's backlog.
type Target struct {
	// Name names the target in the report.
	Name string
	// Start starts a server and returns it.
	Start func() (Server, error)
}

// Server is a running [Target].
type Server struct {
	// URLs are its push URLs, offered to in turn.
	URLs []string
	// Waiting, if not nil, counts the jobs not yet run, to report how far
	// the server's workers are behind when a run ends.
	Waiting func(ctx context.Context) (int, error)
	// Stop stops it and deletes what it stored.
	Stop func()
}

// Measure offers cfg at each of rates, in turn, to a fresh server of each
// target, and writes a line for each run to out. A target's sweep stops at
// its first rate that is not sustained (every push answered "success",
// p99 ≤ p99); with more than one rate, a last line gives the highest rate
// it sustained.
func Measure(ctx context.Context, out io.Writer, targets []Target, rates []int, p99 time.Duration, cfg Config) error {
	for _, t := range targets {
		best := 0
		for _, rate := range rates {
			r, waiting, err := measureOne(ctx, t, rate, cfg)
			if err != nil {
				return fmt.Errorf("loadtest: %s at %d/s: %w", t.Name, rate, err)
			}
			fmt.Fprintf(out, "%-6s %s%s\n", t.Name, r, waiting)
			if !r.Sustains(p99) {
				break
			}
			best = rate
		}
		if len(rates) > 1 {
			fmt.Fprintf(out, "%-6s max sustained rate (p99 ≤ %s, every push answered): %d/s\n", t.Name, p99, best)
		}
	}
	return nil
}

// measureOne offers rate to a fresh server of t, and says how many of its
// jobs were waiting as the run ended.
func measureOne(ctx context.Context, t Target, rate int, cfg Config) (Result, string, error) {
	srv, err := t.Start()
	if err != nil {
		return Result{}, "", err
	}
	defer srv.Stop()
	cfg.URLs, cfg.Rate = srv.URLs, rate
	r, err := Run(ctx, cfg)
	if err != nil || srv.Waiting == nil {
		return r, "", err
	}
	n, err := srv.Waiting(ctx)
	if err != nil {
		return r, "", err
	}
	return r, fmt.Sprintf("; %d jobs waiting at the end", n), nil
}
