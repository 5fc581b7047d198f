// Command inboxload measures the answer times and throughput of inboxes on
// one Redis queue, open loop, on loopback (package inbox/loadtest), beside
// the plain Handler (a csmsg Receiver with its MemoryDedup and no inbox) in
// the same run. The pushes go to the instances in turn, as a front would
// spread them; every instance runs the jobs meanwhile, with a job that
// does nothing, so that claims and completions share Redis with the
// accepts as in production.
//
//	inboxload -redis 127.0.0.1:6379 -store redis,plain -rate 3000
//	inboxload -redis 127.0.0.1:6379 -sweep 1000,2000,3000,4000,5000 -p99 20ms
//
// Each rate gets new instances on a new queue (a prefix of its own, whose
// keys are deleted after the run). The instances and the load generator
// run in this one process and share the machine's cores with Redis.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgredis"
	"github.com/csmsg/csmsg/inbox"
	"github.com/csmsg/csmsg/inbox/loadtest"
)

// flags are the command's flags.
type flags struct {
	addr      string
	stores    string
	instances int
	rate      int
	sweep     string
	p99       time.Duration
	duration  time.Duration
	users     int
	profile   string
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

// run parses the flags and does what they say.
func run() error {
	var f flags
	flag.StringVar(&f.addr, "redis", os.Getenv("REDIS_ADDR"), "the Redis server's address (default $REDIS_ADDR)")
	flag.StringVar(&f.stores, "store", "redis,plain", "what to measure, comma-separated: redis (inboxes on one Redis queue), plain")
	flag.IntVar(&f.instances, "instances", 2, "how many inbox instances share the queue")
	flag.IntVar(&f.rate, "rate", 3000, "pushes offered per second")
	flag.StringVar(&f.sweep, "sweep", "", "rates to offer in turn, comma-separated, up to the first that misses -p99 (instead of -rate)")
	flag.DurationVar(&f.p99, "p99", 20*time.Millisecond, "the answer time p99 a rate must keep to be sustained")
	flag.DurationVar(&f.duration, "duration", 5*time.Second, "how long each rate is offered")
	flag.IntVar(&f.users, "users", 200, "users the pushes come from")
	flag.StringVar(&f.profile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if f.profile != "" {
		out, err := os.Create(f.profile)
		if err != nil {
			return err
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	return measure(f, os.Stdout)
}

// measure offers the load to each store.
func measure(f flags, out io.Writer) error {
	if f.addr == "" {
		return errors.New("inboxload: no Redis: pass -redis or set REDIS_ADDR")
	}
	if f.instances < 1 {
		return fmt.Errorf("inboxload: -instances %d: at least one", f.instances)
	}
	rates := []int{f.rate}
	if f.sweep != "" {
		rates = nil
		for _, s := range strings.Split(f.sweep, ",") {
			r, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || r <= 0 {
				return fmt.Errorf("inboxload: -sweep: %q is no rate", s)
			}
			rates = append(rates, r)
		}
	}
	var targets []loadtest.Target
	for _, store := range strings.Split(f.stores, ",") {
		switch store {
		case "redis":
			targets = append(targets, loadtest.Target{Name: store, Start: func() (loadtest.Server, error) { return onRedis(f) }})
		case "plain":
			targets = append(targets, loadtest.Target{Name: store, Start: plain})
		default:
			return fmt.Errorf("inboxload: no store %q (redis, plain)", store)
		}
	}
	cfg := loadtest.Config{Duration: f.duration, Users: f.users}
	return loadtest.Measure(context.Background(), out, targets, rates, f.p99, cfg)
}

// quiet is the servers' logger: warnings and errors only.
var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// serve serves h on a loopback port and returns its push URL and what
// stops it.
func serve(h http.Handler) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(l)
	return "http://" + l.Addr().String() + "/wx", func() { srv.Close() }, nil
}

// plain starts one plain Handler.
func plain() (loadtest.Server, error) {
	r, err := csmsg.NewReceiver(csmsg.Config{Token: "token", Logger: quiet})
	if err != nil {
		return loadtest.Server{}, err
	}
	url, stop, err := serve(r.Handler(func(context.Context, csmsg.Message) (*csmsg.Reply, error) { return nil, nil }))
	if err != nil {
		return loadtest.Server{}, err
	}
	return loadtest.Server{URLs: []string{url}, Stop: stop}, nil
}

// onRedis starts f.instances inboxes, each with its own Redis client, on
// a new queue, each running its jobs.
func onRedis(f flags) (srv loadtest.Server, err error) {
	prefix := fmt.Sprint("inboxload:", time.Now().UnixNano())
	var stops []func()
	srv.Stop = func() { // in reverse: the servers, the runs, the inboxes and clients, the keys
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	defer func() {
		if err != nil {
			srv.Stop()
		}
	}()
	stops = append(stops, func() { deleteQueue(f.addr, prefix) })
	ctx := context.Background()
	var first *inbox.Inbox
	for range f.instances {
		rdb := redis.NewClient(&redis.Options{Addr: f.addr})
		q, err := csmsgredis.NewQueue(ctx, rdb, csmsgredis.QueueOptions{Prefix: prefix})
		if err != nil {
			rdb.Close()
			return srv, err
		}
		ib := inbox.New(q, inbox.Options{MaxJobs: -1, MaxBytes: -1, Logger: quiet})
		stops = append(stops, func() { ib.Close(); rdb.Close() })
		if first == nil {
			first = ib
		}
		r, err := csmsg.NewReceiver(csmsg.Config{Token: "token", Logger: quiet, Dedup: ib})
		if err != nil {
			return srv, err
		}
		runCtx, stopRun := context.WithCancel(ctx)
		ran := make(chan struct{})
		go func() {
			defer close(ran)
			ib.Run(runCtx, func(context.Context, *inbox.Job) error { return nil })
		}()
		stops = append(stops, func() { stopRun(); <-ran })
		url, stop, err := serve(r.Handler(ib.Accept))
		if err != nil {
			return srv, err
		}
		stops = append(stops, stop)
		srv.URLs = append(srv.URLs, url)
	}
	srv.Waiting = func(ctx context.Context) (int, error) {
		st, err := first.Stats(ctx)
		return st.Queued + st.Running + st.Retrying, err
	}
	return srv, nil
}

// deleteQueue deletes the keys of the queue named prefix.
func deleteQueue(addr, prefix string) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	iter := rdb.Scan(ctx, 0, "{"+prefix+"}:*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}
