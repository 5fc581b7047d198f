// Command loadtest drives csmsg.Receiver handlers over loopback TCP as
// WeChat would, with retries, a slow and sometimes failing HandlerFunc,
// one instance (csmsg.MemoryDedup) and two instances sharing Redis
// (csmsgredis.Dedup), and reports throughput, latency, pushes lost or
// handled twice, and goroutines and heap before and after:
//
//	go run ./loadtest -duration 10s -concurrency 64 -redis 127.0.0.1:6379
//
// Without -redis (or REDIS_ADDR) only the one-instance scenarios run. It
// exits 1 if any push was lost, handled twice or answered wrongly.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/csmsg/csmsg/csmsgtest"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long each scenario runs")
	concurrency := flag.Int("concurrency", 64, "pushes in flight")
	maxPushes := flag.Int64("max-pushes", 0, "stop a scenario after this many pushes (0: no bound but -duration)")
	redisAddr := flag.String("redis", os.Getenv("REDIS_ADDR"), "address of the Redis the two instances share (default $REDIS_ADDR)")
	instances := flag.String("instances", "1,2", "comma-separated instance counts to run")
	modes := flag.String("modes", "plaintext,safe", "comma-separated mode sets: plaintext, safe, or plaintext+safe for a mix")
	retry := flag.Float64("retry", 0.10, "share of pushes sent twice although the first attempt succeeded")
	fail := flag.Float64("fail", 0.03, "share of pushes whose first HandlerFunc call fails")
	latency := flag.Duration("latency", 20*time.Millisecond, "the HandlerFunc's random latency, from 0 up to this")
	flag.Parse()

	var cfgs []Config
	for _, inst := range strings.Split(*instances, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(inst))
		if err != nil || n < 1 || n > 2 {
			fmt.Fprintf(os.Stderr, "loadtest: -instances: %q is not 1 or 2\n", inst)
			os.Exit(2)
		}
		if n > 1 && *redisAddr == "" {
			fmt.Fprintln(os.Stderr, "loadtest: skipping two instances: no -redis or REDIS_ADDR")
			continue
		}
		for _, set := range strings.Split(*modes, ",") {
			ms, err := parseModes(set)
			if err != nil {
				fmt.Fprintln(os.Stderr, "loadtest: -modes:", err)
				os.Exit(2)
			}
			cfgs = append(cfgs, Config{
				Duration: *duration, MaxPushes: *maxPushes, Concurrency: *concurrency,
				Instances: n, RedisAddr: *redisAddr, Modes: ms,
				RetryRate: *retry, FailRate: *fail, MaxLatency: *latency,
			})
		}
	}

	fmt.Printf("loadtest: %v per scenario, concurrency %d, %.0f%% retries, %.0f%% failing first calls, fn latency 0-%v\n",
		*duration, *concurrency, *retry*100, *fail*100, *latency)
	ok := true
	for _, cfg := range cfgs {
		res, err := Run(context.Background(), cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
			os.Exit(1)
		}
		fmt.Println(Format(res))
		ok = ok && res.OK()
	}
	if !ok {
		fmt.Println("loadtest: FAILED: pushes lost, handled twice or answered wrongly")
		os.Exit(1)
	}
}

// parseModes parses a mode set such as "plaintext+safe".
func parseModes(set string) ([]csmsgtest.Mode, error) {
	var ms []csmsgtest.Mode
	for _, name := range strings.Split(set, "+") {
		switch strings.TrimSpace(name) {
		case "plaintext":
			ms = append(ms, csmsgtest.ModePlaintext)
		case "safe":
			ms = append(ms, csmsgtest.ModeSafe)
		default:
			return nil, fmt.Errorf("%q is not plaintext or safe", name)
		}
	}
	return ms, nil
}

// Format returns a result as a few lines of text.
func Format(r *Result) string {
	return fmt.Sprintf(`%s:
  %d pushes in %v: %.0f pushes/s, %.0f requests/s (%d requests; duplicates %d concurrent, %d after)
  latency p50 %v, p99 %v, max %v
  lost %d, handled twice %d, injected failures %d, non-200 %d (unexpected %d), wrong answers %d, client errors %d
  goroutines %d -> %d, heap %.1f MiB -> %.1f MiB`,
		r.Name, r.Pushes, r.Elapsed.Round(time.Millisecond), r.PushesPerSec(), r.RequestsPerSec(), r.Requests, r.ConcurrentDup, r.LateDup,
		r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond),
		r.Lost, r.HandledTwice, r.Injected, r.Non200, r.UnexpectedNon200, r.WrongAnswers, r.ClientErrors,
		r.GoroutinesBefore, r.GoroutinesAfter, float64(r.HeapBefore)/(1<<20), float64(r.HeapAfter)/(1<<20))
}
