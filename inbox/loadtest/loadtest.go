// Package loadtest offers signed pushes to a push handler at a fixed rate,
// open loop, and measures the answer times: each push is sent at its
// scheduled time whether or not the earlier ones were answered, over as
// many connections as it takes, and its answer time runs from its
// scheduled time, so that a server that falls behind is charged for the
// wait (no coordinated omission). [Measure] sweeps rates over several
// targets; command inboxload runs it against the inbox's stores and the
// plain Handler (inbox/cmd/inboxload), and against two instances on Redis
// (csmsgredis/cmd/inboxload).
package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
)

// Config is one load run. The zero value of each field but URL is a
// usable default.
type Config struct {
	// URLs are the push handler's URLs, loopback only: the pushes go to
	// each in turn, as a front spreading them over instances would.
	URLs []string
	// Token is the push Token the handler checks: "" means "token".
	Token string
	// AppID is the mini program the pushes are for: "" means
	// "gh_loadtest00001".
	AppID string
	// Rate is the pushes offered per second: 0 means 1,000.
	Rate int
	// Duration is how long pushes are offered: 0 means 5 s. A run sends
	// Rate×Duration pushes, at most MaxPushes.
	Duration time.Duration
	// Users is how many users the pushes come from, in turn: 0 means 200.
	Users int
	// Timeout is how long a push waits for its answer, WeChat's: 0 means
	// 5 s.
	Timeout time.Duration
}

// MaxPushes bounds the pushes of a run.
const MaxPushes = 1_000_000

// ErrConfig is a Config that cannot run.
var ErrConfig = errors.New("loadtest: bad config")

func (c Config) withDefaults() (Config, error) {
	if len(c.URLs) == 0 {
		return c, fmt.Errorf("%w: no URL", ErrConfig)
	}
	if c.Token == "" {
		c.Token = "token"
	}
	if c.AppID == "" {
		c.AppID = "gh_loadtest00001"
	}
	if c.Rate <= 0 {
		c.Rate = 1000
	}
	if c.Duration <= 0 {
		c.Duration = 5 * time.Second
	}
	if c.Users <= 0 {
		c.Users = 200
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if n := float64(c.Rate) * c.Duration.Seconds(); n > MaxPushes {
		return c, fmt.Errorf("%w: %d/s for %s is %.0f pushes, more than %d", ErrConfig, c.Rate, c.Duration, n, MaxPushes)
	}
	return c, nil
}

// Result is what a run measured.
type Result struct {
	Offered  float64       // pushes per second offered
	Sent     int           // pushes sent
	OK       int           // answered "success"
	Failed   int           // answered otherwise, or not within Timeout
	Achieved float64       // pushes answered "success" per second, from the first send to the last answer
	P50, P99 time.Duration // answer times, from each push's scheduled time
	Max      time.Duration
	// Late is the most any push was sent after its scheduled time: the
	// load generator's own lag, charged to the answer times.
	Late time.Duration
	// FirstFailure is why the first failed push failed: "" with none.
	FirstFailure string
}

// Sustains reports whether the run kept up: every push answered "success"
// and p99 within p99.
func (r Result) Sustains(p99 time.Duration) bool {
	return r.Failed == 0 && r.OK == r.Sent && r.P99 <= p99
}

// String is the result on one line.
func (r Result) String() string {
	s := fmt.Sprintf("offered %.0f/s: %d sent, %d success, %d failed; achieved %.0f/s; p50 %s p99 %s max %s (sender late by up to %s)",
		r.Offered, r.Sent, r.OK, r.Failed, r.Achieved, ms(r.P50), ms(r.P99), ms(r.Max), ms(r.Late))
	if r.FirstFailure != "" {
		s += "; first failure: " + r.FirstFailure
	}
	return s
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms" }

// Run offers cfg.Rate pushes per second for cfg.Duration and returns what
// it measured. The pushes are signed before the clock starts; each has a
// MsgId new to the handler.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	n := int(float64(cfg.Rate) * cfg.Duration.Seconds())
	reqs, err := requests(cfg, n)
	if err != nil {
		return Result{}, err
	}
	client := &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{
		MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: 30 * time.Second}}
	defer client.CloseIdleConnections()

	times := make([]time.Duration, n) // answer times; -1 for a failure
	var first sync.Once
	var firstFailure string
	var wg sync.WaitGroup
	var late time.Duration
	interval := time.Second / time.Duration(cfg.Rate)
	start := time.Now()
	sent := 0
	for i, req := range reqs {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			time.Sleep(d) // a push due meanwhile goes at once after
		}
		if ctx.Err() != nil {
			break
		}
		late = max(late, time.Since(at))
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			var why string
			times[i], why = answer(client, req.WithContext(ctx), at)
			if why != "" {
				first.Do(func() { firstFailure = why })
			}
		}()
	}
	wg.Wait()
	end := time.Now()
	r := summarize(times[:sent], float64(cfg.Rate), end.Sub(start), late)
	r.FirstFailure = firstFailure
	return r, ctx.Err()
}

// requests signs n pushes of cfg's users, with MsgIds of a fresh run.
func requests(cfg Config, n int) ([]*http.Request, error) {
	var run [6]byte
	rand.Read(run[:])
	prefix := hex.EncodeToString(run[:])
	now := time.Now().Unix()
	reqs := make([]*http.Request, n)
	for i := range reqs {
		msg := &csmsg.Text{
			Header: csmsg.Header{ToUserName: cfg.AppID, FromUserName: "user" + strconv.Itoa(i%cfg.Users), CreateTime: now, MsgType: "text"},
			MsgID:  prefix + strconv.Itoa(i), Content: "hello " + strconv.Itoa(i),
		}
		req, err := csmsgtest.NewRequest(cfg.URLs[i%len(cfg.URLs)], csmsg.Config{Token: cfg.Token}, csmsgtest.ModePlaintext, msg, csmsg.FormatJSON)
		if err != nil {
			return nil, fmt.Errorf("loadtest: signing a push: %w", err)
		}
		reqs[i] = req
	}
	return reqs, nil
}

// answer sends req and returns its answer time from at, or -1 and why if
// it was not answered "success".
func answer(client *http.Client, req *http.Request, at time.Time) (time.Duration, string) {
	resp, err := client.Do(req)
	if err != nil {
		return -1, err.Error()
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64))
	resp.Body.Close()
	switch {
	case err != nil:
		return -1, err.Error()
	case resp.StatusCode != http.StatusOK || string(body) != "success":
		return -1, fmt.Sprintf("%s %q", resp.Status, body)
	}
	return time.Since(at), ""
}

// summarize makes a Result of the answer times.
func summarize(times []time.Duration, offered float64, elapsed, late time.Duration) Result {
	r := Result{Offered: offered, Sent: len(times), Late: late}
	ok := make([]time.Duration, 0, len(times))
	for _, t := range times {
		if t < 0 {
			r.Failed++
			continue
		}
		ok = append(ok, t)
	}
	r.OK = len(ok)
	if r.OK == 0 {
		return r
	}
	slices.Sort(ok)
	r.P50 = ok[(len(ok)-1)*50/100]
	r.P99 = ok[(len(ok)-1)*99/100]
	r.Max = ok[len(ok)-1]
	r.Achieved = float64(r.OK) / elapsed.Seconds()
	return r
}
