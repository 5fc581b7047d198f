package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
	"github.com/csmsg/csmsg/kf/kftest"
)

// The mini program the Driver plays WeChat for: give these to the bots.
const (
	AppID     = "gh_crashtest0001"
	AppSecret = "crashtest-secret"
	Token     = "token" // the push Token
)

// Config sizes a crash test. The zero value of each field is the issue's
// figure (or WeChat's).
type Config struct {
	Users   int // users sending: 0 means 200
	PerUser int // pushes each user sends, one after the other: 0 means 25
	Kills   int // SIGKILLs: 0 means 10

	// Timeout is how long WeChat waits for an answer: 0 means 5 s.
	Timeout time.Duration
	// Attempts is how many times WeChat sends a push before abandoning
	// it: 0 means 3.
	Attempts int
	// RetryPause is the pause before a push's next attempt when the last
	// one failed fast (a refused connection, an error status): 0 means
	// 300 ms. An attempt that timed out is retried at once.
	RetryPause time.Duration
	// KillGap bounds the random time between two kills: 0 means 150 ms
	// to 700 ms.
	MinKillGap, MaxKillGap time.Duration
	// Settle is how long the Driver waits, after the last push, for every
	// accepted push to be processed: 0 means 60 s.
	Settle time.Duration
	// Seed seeds the kill moments and the bots killed: 0 means a random
	// seed, which the Report shows.
	Seed uint64
	// AfterKill, if set, is called after kill n (from 1) and the bot's
	// restart: a test on Redis restarts redis-server there once (and
	// calls [Bot.MarkRunning] on its bots). Its error is a driver error.
	AfterKill func(n int) error
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Users, 200)
	def(&c.PerUser, 25)
	def(&c.Kills, 10)
	def(&c.Attempts, 3)
	defDur(&c.Timeout, 5*time.Second)
	defDur(&c.RetryPause, 300*time.Millisecond)
	defDur(&c.MinKillGap, 150*time.Millisecond)
	defDur(&c.MaxKillGap, 700*time.Millisecond)
	defDur(&c.Settle, 60*time.Second)
	if c.MaxKillGap < c.MinKillGap {
		c.MaxKillGap = c.MinKillGap
	}
	if c.Seed == 0 {
		c.Seed = rand.Uint64()
	}
	return c
}

// Driver plays WeChat on both sides of bot processes: it sends signed
// pushes as users and serves the customer-service API (a kftest fake) that
// the bots reply through, and it reads the bots' Events. Make one with
// NewDriver, start the bots with StartBot, then Run.
type Driver struct {
	cfg    Config
	api    *kftest.Handler
	server *httptest.Server

	mu     sync.Mutex
	pushes map[uint64]string // job id: "USER CONTENT", from start events
	done   map[string]int    // "USER CONTENT": done events
	// firstDone is when each push was first done (the bot's clock, in
	// Unix nanoseconds): the order the Report checks. Two bots' events
	// reach the Driver through two pipes, so the order they are read in
	// is not the order they happened in.
	firstDone map[string]int64
	bound     map[string]bool // pushes whose job was running or completing at a kill
	events    int             // lines read, to see the bots go quiet
}

// NewDriver starts the fake API. Close it when done.
func NewDriver(cfg Config) *Driver {
	api := kftest.NewHandler(AppID, AppSecret)
	api.SetClock(time.Now)
	return &Driver{cfg: cfg.withDefaults(), api: api, server: httptest.NewServer(chatting{api}),
		pushes: map[uint64]string{}, done: map[string]int{}, firstDone: map[string]int64{}, bound: map[string]bool{}}
}

// APIURL is the customer-service API's base URL, for the bots' kf.Config.
func (d *Driver) APIURL() string { return d.server.URL }

// Close stops the fake API.
func (d *Driver) Close() { d.server.Close() }

// chatting is the fake API with users who keep chatting: each send finds
// its user's reply window just reopened, so that replies lagging behind a
// user's quick pushes are not refused for the quota (45047). The crash
// test checks delivery, not the quota.
type chatting struct{ *kftest.Handler }

func (c chatting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == kftest.PathSend {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "reading the body", http.StatusBadRequest)
			return
		}
		var send struct {
			ToUser string `json:"touser"`
		}
		if json.Unmarshal(body, &send) == nil && send.ToUser != "" {
			c.UserMessage(send.ToUser)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	c.Handler.ServeHTTP(w, r)
}

// Bot is a bot process the Driver kills and starts again.
type Bot struct {
	d       *Driver
	command func() *exec.Cmd

	mu      sync.Mutex
	cmd     *exec.Cmd
	life    *life
	stderr  tail
	stopped bool
}

// life is what one run of a bot process did.
type life struct {
	started   map[uint64]bool
	committed map[uint64]bool
	partial   []byte // an unfinished line
}

// StartBot starts a bot process with command (called again for each
// restart), whose standard output carries its Events.
func (d *Driver) StartBot(command func() *exec.Cmd) (*Bot, error) {
	b := &Bot{d: d, command: command}
	return b, b.start()
}

func (b *Bot) start() error {
	b.life = &life{started: map[uint64]bool{}, committed: map[uint64]bool{}}
	cmd := b.command()
	cmd.Stdout = lifeWriter{b.d, b.life}
	cmd.Stderr = &b.stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("crashtest: starting a bot: %w", err)
	}
	b.cmd = cmd
	return nil
}

// Kill kills the bot with SIGKILL, notes the jobs it was running or
// completing, and starts it again.
func (b *Bot) Kill() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("crashtest: killing a bot: %w", err)
	}
	b.cmd.Wait() // its output is all read when Wait returns
	b.markRunning()
	return b.start()
}

// MarkRunning adds the jobs the bot is running or completing now (started
// in its current process, not durably completed) to the Report's Bound: an
// outage the bot lives through, such as a redis-server restart in
// Config.AfterKill, can make such a job run again, as a kill does.
func (b *Bot) MarkRunning() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.markRunning()
}

// markRunning is MarkRunning; b.mu is held.
func (b *Bot) markRunning() {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	for id := range b.life.started {
		if !b.life.committed[id] {
			b.d.bound[b.d.pushes[id]] = true
		}
	}
}

// Stop kills the bot for good.
func (b *Bot) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.stopped {
		b.stopped = true
		b.cmd.Process.Kill()
		b.cmd.Wait()
	}
}

// Log is the end of what the bot's processes wrote on standard error.
func (b *Bot) Log() string { return b.stderr.String() }

// lifeWriter reads a bot process's events.
type lifeWriter struct {
	d *Driver
	l *life
}

func (w lifeWriter) Write(p []byte) (int, error) {
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	buf := append(w.l.partial, p...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		w.d.event(w.l, string(buf[:i]))
		buf = buf[i+1:]
	}
	w.l.partial = append([]byte(nil), buf...)
	return len(p), nil
}

// event records one event line of life l; d.mu is held.
func (d *Driver) event(l *life, line string) {
	d.events++
	f := strings.Fields(line)
	if len(f) < 2 {
		return
	}
	id, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return
	}
	switch {
	case f[0] == eventStart && len(f) == 4:
		l.started[id] = true
		d.pushes[id] = f[2] + " " + f[3]
	case f[0] == eventDone:
		p := d.pushes[id]
		d.done[p]++
		at := time.Now().UnixNano() // a bot that does not say when
		if len(f) == 3 {
			if ns, err := strconv.ParseInt(f[2], 10, 64); err == nil {
				at = ns
			}
		}
		if first, ok := d.firstDone[p]; !ok || at < first {
			d.firstDone[p] = at
		}
	case f[0] == eventCommit:
		l.committed[id] = true
	}
}

// tail keeps the last 64 KiB written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if n := len(t.buf) - 64<<10; n > 0 {
		t.buf = append([]byte(nil), t.buf[n:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// user and content name push i of user u.
func user(u int) string    { return fmt.Sprintf("user%04d", u) }
func content(i int) string { return fmt.Sprintf("m%05d", i) }

// Run sends the pushes to url (a bot, or a front spreading pushes between
// bots) while killing a random one of bots Config.Kills times, waits for
// the accepted pushes to be processed, and reports.
func (d *Driver) Run(url string, bots ...*Bot) Report {
	start := time.Now()
	r := Report{Config: d.cfg, Pushes: d.cfg.Users * d.cfg.PerUser}
	users := make([]userTally, d.cfg.Users)
	sent := make(chan struct{})
	go func() { d.sendAll(url, users); close(sent) }()
	d.killAll(&r, bots, sent)
	<-sent
	r.Sending = time.Since(start)

	want := map[string]bool{} // the pushes answered "success"
	for u, t := range users {
		r.Attempts += t.attempts
		r.TimedOut += t.timeouts
		r.Retries += t.retries
		if t.err != nil {
			r.Errors = append(r.Errors, t.err.Error())
		}
		for i, ok := range t.answered {
			if ok {
				want[user(u)+" "+content(i)] = true
			}
		}
	}
	r.Answered = len(want)
	r.Abandoned = r.Pushes - r.Answered
	d.settle(want, d.cfg.Settle)
	r.Elapsed = time.Since(start)
	d.check(&r, want)
	return r
}

// userTally is what one user's pushes met.
type userTally struct {
	answered                    []bool // by push: answered "success"
	attempts, timeouts, retries int
	err                         error
}

// sendAll sends every user's pushes, each after the previous one was
// answered or abandoned, and tallies them in users.
func (d *Driver) sendAll(url string, users []userTally) {
	cfg := d.cfg
	client := &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Users}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	for u := range users {
		t := &users[u]
		t.answered = make([]bool, cfg.PerUser)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range cfg.PerUser {
				d.api.UserMessage(user(u)) // the reply window opens
				msg := &csmsg.Text{
					Header: csmsg.Header{ToUserName: AppID, FromUserName: user(u), CreateTime: time.Now().Unix(), MsgType: "text"},
					MsgID:  strconv.Itoa(u*cfg.PerUser + i), Content: content(i),
				}
				signed, err := csmsgtest.SignMessage(csmsg.Config{Token: Token}, csmsgtest.ModePlaintext, msg, csmsg.FormatJSON)
				if err != nil {
					t.err = err
					return
				}
				for attempt := range cfg.Attempts {
					if attempt > 0 {
						t.retries++
					}
					t.attempts++
					ok, timedOut := push(client, url, signed)
					if ok {
						t.answered[i] = true
						break
					}
					if timedOut {
						t.timeouts++
					} else if attempt+1 < cfg.Attempts {
						time.Sleep(cfg.RetryPause)
					}
				}
			}
		}()
	}
	wg.Wait()
}

// killAll kills a random one of bots Config.Kills times, at random moments
// while the pushes are sent (and at once after they are all sent).
func (d *Driver) killAll(r *Report, bots []*Bot, sent <-chan struct{}) {
	cfg := d.cfg
	rng := rand.New(rand.NewPCG(cfg.Seed, 0))
	for range cfg.Kills {
		gap := cfg.MinKillGap + time.Duration(rng.Int64N(int64(cfg.MaxKillGap-cfg.MinKillGap)+1))
		select {
		case <-sent:
		case <-time.After(gap):
		}
		if err := bots[rng.IntN(len(bots))].Kill(); err != nil {
			r.Errors = append(r.Errors, err.Error())
			return
		}
		r.Kills++
		if cfg.AfterKill != nil {
			if err := cfg.AfterKill(r.Kills); err != nil {
				r.Errors = append(r.Errors, fmt.Sprintf("crashtest: after kill %d: %v", r.Kills, err))
			}
		}
	}
}

// push sends the signed push once, as WeChat does (each attempt the same
// request), and reports whether it was answered "success" and whether it
// timed out.
func push(client *http.Client, url string, signed *csmsgtest.Push) (ok, timedOut bool) {
	req, err := signed.Request(url)
	if err != nil {
		return false, false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, isTimeout(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	return resp.StatusCode == http.StatusOK && string(body) == "success", false
}

// isTimeout reports whether err is a request's timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// settle waits up to limit until every wanted push is done, every job that
// started is done, and the bots have been quiet for half a second.
func (d *Driver) settle(want map[string]bool, limit time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	last, quietSince := -1, time.Now()
	for ctx.Err() == nil {
		d.mu.Lock()
		settled := true
		for p := range want {
			if d.done[p] == 0 {
				settled = false
				break
			}
		}
		for _, p := range d.pushes {
			if d.done[p] == 0 {
				settled = false
				break
			}
		}
		if d.events != last {
			last, quietSince = d.events, time.Now()
		}
		d.mu.Unlock()
		if settled && time.Since(quietSince) > 500*time.Millisecond {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
