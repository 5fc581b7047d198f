package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgredis"
	"github.com/csmsg/csmsg/csmsgtest"
	"github.com/csmsg/csmsg/internal/wxcrypto"
	"github.com/redis/go-redis/v9"
)

// The receivers' configurations: one per mode, at paths of their own on
// every instance.
var (
	plainCfg = csmsg.Config{Token: "load-token"}
	safeCfg  = csmsg.Config{
		Token:          "load-token",
		EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
		AppID:          "wxba5fad812f8e6fb9",
	}
)

// pathOf is the path of a mode's receiver.
func pathOf(mode csmsgtest.Mode) string {
	if mode == csmsgtest.ModePlaintext {
		return "/plain"
	}
	return "/safe"
}

func cfgOf(mode csmsgtest.Mode) csmsg.Config {
	if mode == csmsgtest.ModePlaintext {
		return plainCfg
	}
	return safeCfg
}

// Config is one load run.
type Config struct {
	// Duration bounds the run; MaxPushes, if positive, too.
	Duration  time.Duration
	MaxPushes int64

	// Concurrency is the number of pushes in flight.
	Concurrency int

	// Instances is 1 (with csmsg.MemoryDedup) or 2 (sharing the Redis at
	// RedisAddr through a csmsgredis.Dedup each).
	Instances int
	RedisAddr string

	// Modes are the modes pushes are sent in, picked at random.
	Modes []csmsgtest.Mode

	// RetryRate is the share of pushes WeChat sends twice although the
	// first attempt succeeded, half of them concurrently, half after.
	RetryRate float64

	// FailRate is the share of pushes whose first HandlerFunc call fails;
	// the generator retries them as WeChat would, three attempts in all.
	FailRate float64

	// MaxLatency bounds the HandlerFunc's random latency.
	MaxLatency time.Duration
}

// Result is what a run measured.
type Result struct {
	Name                   string
	Pushes, Requests       int64
	Elapsed                time.Duration
	P50, P99, Max          time.Duration
	Lost                   int64 // pushes no attempt got a 200 for
	HandledTwice           int64 // pushes whose HandlerFunc succeeded more than once
	Injected               int64 // HandlerFunc failures injected
	Non200                 int64 // answers other than 200
	UnexpectedNon200       int64 // Non200 beyond the injected failures
	WrongAnswers           int64 // a 200 answer not the push's, or differing between attempts
	ClientErrors           int64 // requests that got no answer
	GoroutinesBefore       int
	GoroutinesAfter        int
	HeapBefore, HeapAfter  uint64
	ConcurrentDup, LateDup int64 // duplicates sent, concurrent with the first attempt and after it
}

// PushesPerSec is the rate of pushes handled.
func (r *Result) PushesPerSec() float64 { return float64(r.Pushes) / r.Elapsed.Seconds() }

// RequestsPerSec is the rate of requests answered.
func (r *Result) RequestsPerSec() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// OK reports whether nothing was lost, handled twice or answered wrongly.
func (r *Result) OK() bool {
	return r.Lost == 0 && r.HandledTwice == 0 && r.UnexpectedNon200 == 0 && r.WrongAnswers == 0 && r.ClientErrors == 0
}

// Name returns a scenario's name: its modes and instances.
func Name(cfg Config) string {
	var modes []string
	for _, m := range cfg.Modes {
		modes = append(modes, m.String())
	}
	store := "memory"
	if cfg.Instances > 1 {
		store = "redis"
	}
	return fmt.Sprintf("%s, %d instance(s), %s", strings.Join(modes, "+"), cfg.Instances, store)
}

// pushState is what the HandlerFuncs saw of one push.
type pushState struct {
	calls, successes atomic.Int32
}

// run is the state of one Run.
type run struct {
	cfg      Config
	bases    []string // the instances' URLs
	client   *http.Client
	key      *wxcrypto.Key // opens safe-mode answers
	states   sync.Map      // DedupKey -> *pushState
	injected atomic.Int64
	msgBase  uint64
	kinds    []csmsg.KindInfo // the kinds message pushes in turn
}

// handle is every instance's HandlerFunc: random latency, a failure on the
// first call of FailRate of the pushes, and a transfer for every message
// (nil, "success", for events).
func (r *run) handle(_ context.Context, m csmsg.Message) (*csmsg.Reply, error) {
	v, _ := r.states.LoadOrStore(csmsg.DedupKey(m), &pushState{})
	st := v.(*pushState)
	n := st.calls.Add(1)
	if r.cfg.MaxLatency > 0 {
		time.Sleep(rand.N(r.cfg.MaxLatency))
	}
	if n == 1 && rand.Float64() < r.cfg.FailRate {
		r.injected.Add(1)
		return nil, errors.New("injected failure")
	}
	st.successes.Add(1)
	return csmsg.Transfer(m), nil
}

// Run starts cfg.Instances servers on loopback, drives them, stops them
// and returns what it measured.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Instances < 1 {
		cfg.Instances = 1
	}
	if cfg.Instances > 1 && cfg.RedisAddr == "" {
		return nil, errors.New("loadtest: several instances need a Redis to share")
	}
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	if len(cfg.Modes) == 0 {
		cfg.Modes = []csmsgtest.Mode{csmsgtest.ModePlaintext}
	}
	res := &Result{Name: Name(cfg)}
	res.GoroutinesBefore, res.HeapBefore = snapshot()

	key, err := wxcrypto.ParseKey(safeCfg.EncodingAESKey)
	if err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, key: key, msgBase: rand.Uint64N(1 << 62), kinds: csmsg.Kinds()}
	var servers []*http.Server
	var clients []*redis.Client
	prefix := fmt.Sprintf("csmsg:load:%x:", rand.Uint64())
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for i := 0; i < cfg.Instances; i++ {
		var d csmsg.Deduper
		if cfg.Instances > 1 {
			c := redis.NewClient(&redis.Options{
				Addr: cfg.RedisAddr, PoolSize: 4 * cfg.Concurrency,
				DialTimeout: 500 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond,
				ContextTimeoutEnabled: true, MaxRetries: 1, DialerRetries: 1,
			})
			clients = append(clients, c)
			if err := c.Ping(ctx).Err(); err != nil {
				return nil, fmt.Errorf("loadtest: Redis at %s: %w", cfg.RedisAddr, err)
			}
			d = csmsgredis.NewDedup(c, csmsgredis.DedupOptions{Prefix: prefix})
		}
		mux := http.NewServeMux()
		for _, mode := range []csmsgtest.Mode{csmsgtest.ModePlaintext, csmsgtest.ModeSafe} {
			c := cfgOf(mode)
			c.Dedup = d // nil: a MemoryDedup of the receiver's own
			rc, err := csmsg.NewReceiver(c)
			if err != nil {
				return nil, err
			}
			mux.Handle(pathOf(mode), rc.Handler(r.handle))
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		// The timeouts the README documents for the Handler.
		srv := &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 2 * time.Second,
			ReadTimeout:       5 * time.Second,
			WriteTimeout:      10 * time.Second,
			IdleTimeout:       60 * time.Second,
			ErrorLog:          log.New(io.Discard, "", 0),
		}
		go srv.Serve(l)
		servers = append(servers, srv)
		r.bases = append(r.bases, "http://"+l.Addr().String())
	}
	tr := &http.Transport{
		MaxIdleConns:        4 * cfg.Concurrency,
		MaxIdleConnsPerHost: 4 * cfg.Concurrency,
		IdleConnTimeout:     90 * time.Second,
	}
	r.client = &http.Client{Transport: tr, Timeout: 5 * time.Second} // WeChat's

	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var seq atomic.Int64
	latencies := make([][]time.Duration, cfg.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				n := seq.Add(1)
				if cfg.MaxPushes > 0 && n > cfg.MaxPushes {
					return
				}
				r.push(n, res, &latencies[w])
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)

	// Stop everything, then count what is left.
	shutdown, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	// The client's idle connections first: a connection it dialed but never
	// used is StateNew to the server, which Shutdown waits for.
	tr.CloseIdleConnections()
	for _, srv := range servers {
		srv.Shutdown(shutdown)
	}
	for _, c := range clients {
		c.Close()
	}
	clients = nil

	all := slices.Concat(latencies...)
	slices.Sort(all)
	res.Requests = int64(len(all))
	if len(all) > 0 {
		res.P50, res.P99, res.Max = all[len(all)*50/100], all[len(all)*99/100], all[len(all)-1]
	}
	r.states.Range(func(_, v any) bool {
		if v.(*pushState).successes.Load() > 1 {
			res.HandledTwice++
		}
		return true
	})
	res.Injected = r.injected.Load()
	res.UnexpectedNon200 = res.Non200 - res.Injected
	res.GoroutinesAfter, res.HeapAfter = settle(res.GoroutinesBefore, 3*time.Second)
	return res, nil
}

// snapshot returns the goroutines and the live heap after a GC.
func snapshot() (int, uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}

// settle waits up to wait for the goroutines to fall back to limit, then
// takes a snapshot.
func settle(limit int, wait time.Duration) (int, uint64) {
	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine() > limit && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return snapshot()
}

// outcome is one attempt: the push and its answer.
type outcome struct {
	push   *csmsgtest.Push
	status int
	body   []byte
	err    error
}

// push sends push n as WeChat would: up to three attempts until one is
// answered 200, at instances taken in turn from a random one; for
// RetryRate of the pushes a duplicate as well, concurrent with the first
// attempt or after it. It records the outcome in res.
func (r *run) push(n int64, res *Result, lat *[]time.Duration) {
	msg := r.message(n)
	mode := r.cfg.Modes[rand.IntN(len(r.cfg.Modes))]
	f := csmsg.FormatXML
	if rand.IntN(2) == 0 {
		f = csmsg.FormatJSON
	}
	start := rand.IntN(len(r.bases))
	attempts := 0
	send := func() outcome {
		base := r.bases[(start+attempts)%len(r.bases)]
		attempts++
		t0 := time.Now()
		o := r.attempt(base, mode, msg, f)
		*lat = append(*lat, time.Since(t0))
		return o
	}
	var outs []outcome
	dup := rand.Float64() < r.cfg.RetryRate
	concurrent := dup && rand.IntN(2) == 0
	if concurrent {
		atomic.AddInt64(&res.ConcurrentDup, 1)
		var other outcome
		var otherLat time.Duration
		base := r.bases[(start+1)%len(r.bases)]
		done := make(chan struct{})
		go func() {
			defer close(done)
			t0 := time.Now()
			other = r.attempt(base, mode, msg, f)
			otherLat = time.Since(t0)
		}()
		o := send()
		<-done
		attempts++
		*lat = append(*lat, otherLat)
		outs = append(outs, o, other)
	} else {
		outs = append(outs, send())
	}
	for attempts < 3 && !anyOK(outs) {
		outs = append(outs, send())
	}
	if dup && !concurrent && attempts < 3 && anyOK(outs) {
		atomic.AddInt64(&res.LateDup, 1)
		outs = append(outs, send())
	}

	atomic.AddInt64(&res.Pushes, 1)
	if !anyOK(outs) {
		atomic.AddInt64(&res.Lost, 1)
	}
	// Every 200 answer is the push's, as WeChat reads it, and the same for
	// every attempt.
	want := csmsg.Transfer(msg) // nil, "success", for an event
	var first string
	seen := false
	for _, o := range outs {
		switch {
		case o.err != nil:
			atomic.AddInt64(&res.ClientErrors, 1)
		case o.status != http.StatusOK:
			atomic.AddInt64(&res.Non200, 1)
		default:
			reply, err := csmsgtest.OpenAnswer(cfgOf(mode), o.push, o.status, o.body)
			got, err2 := r.plaintext(mode, o)
			if err != nil || err2 != nil || !reflect.DeepEqual(reply, want) || (seen && got != first) {
				atomic.AddInt64(&res.WrongAnswers, 1)
			}
			if !seen {
				first, seen = got, true
			}
		}
	}
}

func anyOK(outs []outcome) bool {
	for _, o := range outs {
		if o.err == nil && o.status == http.StatusOK {
			return true
		}
	}
	return false
}

// attempt signs msg afresh (a new nonce and encryption, as WeChat's
// retries are) and posts it to base.
func (r *run) attempt(base string, mode csmsgtest.Mode, msg csmsg.Message, f csmsg.Format) outcome {
	p, err := csmsgtest.SignMessage(cfgOf(mode), mode, msg, f)
	if err != nil {
		return outcome{err: err}
	}
	req, err := http.NewRequest(http.MethodPost, base+pathOf(mode)+"?"+p.Query.Encode(), bytes.NewReader(p.Body))
	if err != nil {
		return outcome{err: err}
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := r.client.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return outcome{push: p, status: resp.StatusCode, body: body, err: err}
}

// plaintext returns o's answer as the instance wrote it, to compare
// attempts: in safe mode, decrypted after checking that it is signed for
// o's own nonce (an envelope replayed from another attempt is not).
func (r *run) plaintext(mode csmsgtest.Mode, o outcome) (string, error) {
	if mode == csmsgtest.ModePlaintext || string(o.body) == "success" {
		return string(o.body), nil
	}
	env, err := wxcrypto.ReadReply(o.body)
	if err != nil {
		return "", err
	}
	if env.Nonce != o.push.Query.Get("nonce") {
		return "", errors.New("answer not signed for the attempt's nonce")
	}
	plain, err := env.Open(r.key, safeCfg.Token, safeCfg.AppID)
	return string(plain), err
}

// message returns push n, from a user of its own: the kinds of
// csmsg.Kinds in turn, each with its sample's values made the push's own
// (MsgId a new id, every other field but Event the sample's and the id).
func (r *run) message(n int64) csmsg.Message {
	h := csmsg.Header{
		ToUserName:   "gh_97417a04a28d",
		FromUserName: "oLoad" + strconv.FormatInt(n, 36) + "-" + strconv.FormatUint(r.msgBase%100000, 10),
		CreateTime:   time.Now().Unix(),
	}
	id := strconv.FormatUint(r.msgBase+uint64(n), 10)
	k := r.kinds[n%int64(len(r.kinds))]
	values := k.Values(k.Sample)
	for i, name := range k.Fields {
		switch name {
		case "MsgId":
			values[i] = id
		case "Event":
		default:
			values[i] += " " + id
		}
	}
	return k.New(h, values...)
}
