// Command inboxload measures the inbox's answer times and throughput, open
// loop, on loopback (package loadtest), against the file store, the memory
// store and the plain Handler (a csmsg Receiver with its MemoryDedup and no
// inbox) in the same run; and the heap of a file-store inbox holding many
// waiting jobs.
//
//	inboxload -store file,plain -rate 3000 -duration 5s
//	inboxload -store file,plain -sweep 1000,2000,3000,4000,5000 -p99 20ms
//	inboxload -store url -url http://127.0.0.1:8080/wx -rate 3000
//	inboxload -fill 1000000
//
// Each store gets a new server (and a new file) for each rate. With
// -process (the default) the inbox runs its jobs meanwhile, with a job that
// does nothing, so that claims and completions share the store with the
// accepts as in production. The load generator runs in the same process as
// the server: they share the machine's cores.
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
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox"
	"github.com/csmsg/csmsg/inbox/loadtest"
	"github.com/csmsg/csmsg/inbox/memstore"
)

// flags are the command's flags.
type flags struct {
	stores   string
	url      string
	dir      string
	rate     int
	sweep    string
	p99      time.Duration
	duration time.Duration
	users    int
	process  bool
	fill     int
	profile  string
	heap     string
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

// run parses the flags and does what they say.
func run() error {
	var f flags
	flag.StringVar(&f.stores, "store", "file,plain", "what to measure, comma-separated: file, memory, plain, url")
	flag.StringVar(&f.url, "url", "", "the push handler's URL, for -store url (a server run apart: two instances on Redis behind a front, say)")
	flag.StringVar(&f.dir, "dir", "", "the directory of the inbox files (deleted after each run): \"\" means the temporary directory")
	flag.IntVar(&f.rate, "rate", 3000, "pushes offered per second")
	flag.StringVar(&f.sweep, "sweep", "", "rates to offer in turn, comma-separated, up to the first that misses -p99 (instead of -rate)")
	flag.DurationVar(&f.p99, "p99", 20*time.Millisecond, "the answer time p99 a rate must keep to be sustained")
	flag.DurationVar(&f.duration, "duration", 5*time.Second, "how long each rate is offered")
	flag.IntVar(&f.users, "users", 200, "users the pushes come from")
	flag.BoolVar(&f.process, "process", true, "run the inbox's jobs (doing nothing) while offering")
	flag.IntVar(&f.fill, "fill", 0, "instead: accept this many jobs into a file-store inbox without running them, and report the heap")
	flag.StringVar(&f.profile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.StringVar(&f.heap, "memprofile", "", "with -fill: write a heap profile to this file at the end")
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
	if f.dir == "" {
		f.dir = os.TempDir()
	}
	if f.fill > 0 {
		return fill(f.dir, f.fill, f.heap, os.Stdout)
	}
	return measure(f, os.Stdout)
}

// measure offers the load to each store.
func measure(f flags, out io.Writer) error {
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
		t, err := target(store, f)
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	cfg := loadtest.Config{Duration: f.duration, Users: f.users}
	return loadtest.Measure(context.Background(), out, targets, rates, f.p99, cfg)
}

// target is store as a load test's target.
func target(store string, f flags) (loadtest.Target, error) {
	switch store {
	case "url":
		if f.url == "" {
			return loadtest.Target{}, errors.New("inboxload: -store url needs -url")
		}
		return loadtest.Target{Name: store, Start: func() (loadtest.Server, error) {
			return loadtest.Server{URLs: []string{f.url}, Stop: func() {}}, nil
		}}, nil
	case "file", "memory", "plain":
		return loadtest.Target{Name: store, Start: func() (loadtest.Server, error) { return start(store, f) }}, nil
	}
	return loadtest.Target{}, fmt.Errorf("inboxload: no store %q (file, memory, plain, url)", store)
}

// start starts a server of store on a loopback port.
func start(store string, f flags) (loadtest.Server, error) {
	h, ib, closeStore, err := server(store, f)
	if err != nil {
		return loadtest.Server{}, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		closeStore()
		return loadtest.Server{}, err
	}
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(l)
	s := loadtest.Server{URLs: []string{"http://" + l.Addr().String() + "/wx"}, Stop: func() {
		srv.Close()
		closeStore()
	}}
	if ib != nil {
		s.Waiting = func(ctx context.Context) (int, error) {
			st, err := ib.Stats(ctx)
			return st.Queued + st.Running + st.Retrying, err
		}
	}
	return s, nil
}

// quiet is the servers' logger: warnings and errors only.
var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// server returns the push handler of store, its inbox (nil for plain),
// and what closes it.
func server(store string, f flags) (http.Handler, *inbox.Inbox, func(), error) {
	cfg := csmsg.Config{Token: "token", Logger: quiet}
	if store == "plain" {
		r, err := csmsg.NewReceiver(cfg)
		if err != nil {
			return nil, nil, nil, err
		}
		return r.Handler(func(context.Context, csmsg.Message) (*csmsg.Reply, error) { return nil, nil }), nil, func() {}, nil
	}
	opts := inbox.Options{MaxJobs: -1, MaxBytes: -1, Logger: quiet}
	var ib *inbox.Inbox
	var path string
	switch store {
	case "file":
		path = filepath.Join(f.dir, fmt.Sprintf("inboxload-%d.inbox", os.Getpid()))
		var err error
		if ib, err = inbox.Open(path, opts); err != nil {
			return nil, nil, nil, err
		}
	case "memory":
		ib = inbox.New(memstore.New(nil), opts)
	}
	cfg.Dedup = ib
	r, err := csmsg.NewReceiver(cfg)
	if err != nil {
		ib.Close()
		return nil, nil, nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		if f.process {
			ib.Run(ctx, func(context.Context, *inbox.Job) error { return nil })
		}
	}()
	return r.Handler(ib.Accept), ib, func() {
		stop()
		<-ran
		ib.Close()
		if path != "" {
			os.Remove(path)
		}
	}, nil
}
