package csmsgredis_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
)

// recorder is the fake send API of the crash test: it records the
// bodies posted to /reply (a reply sent inside Once) and /done (a job
// processed, fn about to return nil), in arrival order.
type recorder struct {
	mu    sync.Mutex
	posts map[string][]string // path → bodies
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.posts[r.URL.Path] = append(rec.posts[r.URL.Path], string(body))
}

func (rec *recorder) get(path string) []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.posts[path]...)
}

// bot is one crashbot process, which the test kills and starts again.
type bot struct {
	mu   sync.Mutex
	cmd  *exec.Cmd
	args []string
	log  *syncBuffer
}

func (b *bot) start(t *testing.T) {
	t.Helper()
	b.cmd = exec.Command(b.args[0], b.args[1:]...)
	b.cmd.Stderr = b.log
	require.NoError(t, b.cmd.Start())
}

// restart kills the bot with SIGKILL and starts it again.
func (b *bot) restart(t *testing.T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	require.NoError(t, b.cmd.Process.Kill())
	b.cmd.Wait()
	b.start(t)
}

func (b *bot) kill() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cmd.Process.Kill()
	b.cmd.Wait()
}

// syncBuffer is the bots' stderr.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// TestTwoInstancesSIGKILL plays WeChat on both sides of two bot processes
// on one Redis queue, behind a front that spreads the pushes between them:
// users send pushes, each after the previous one was answered or abandoned
// after three attempts, while the bots are killed with SIGKILL and started
// again, and redis-server is restarted once, cleanly. Every push answered
// "success" must be processed and replied to, in order per user; replies
// sent twice (Once steps run twice) and pushes processed twice are counted
// and bounded by the jobs that can be running at a kill or the restart.
func TestTwoInstancesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server, builds and kills processes")
	}
	const users, perUser, kills, workers = 20, 30, 6, 8
	dir := t.TempDir()
	server := startRedis(t, dir, 0)
	bin := filepath.Join(dir, "crashbot")
	out, err := exec.Command("go", "build", "-o", bin, "./internal/crashbot").CombinedOutput()
	require.NoError(t, err, string(out))

	rec := &recorder{posts: map[string][]string{}}
	api := httptest.NewServer(rec)
	defer api.Close()

	logs := &syncBuffer{}
	var bots []*bot
	var targets []*url.URL
	for range 2 {
		addr := freeAddr(t)
		b := &bot{args: []string{bin, "-redis", server.addr(), "-prefix", "crash", "-listen", addr, "-send", api.URL}, log: logs}
		b.start(t)
		defer b.kill()
		bots = append(bots, b)
		targets = append(targets, &url.URL{Scheme: "http", Host: addr})
	}
	// The front spreads pushes between the instances, round robin; a
	// push to a dead instance fails (502), and WeChat's retry goes on.
	var next atomic.Uint64
	front := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(targets[next.Add(1)%uint64(len(targets))])
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	})
	defer front.Close()

	client := &http.Client{Timeout: 5 * time.Second} // WeChat's timeout
	answered := make([][]bool, users)
	var wg sync.WaitGroup
	for u := range users {
		answered[u] = make([]bool, perUser)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perUser {
				msg := &csmsg.Text{Header: csmsg.Header{ToUserName: "gh_97417a04a28d", FromUserName: fmt.Sprintf("user%02d", u),
					MsgType: "text"}, MsgID: fmt.Sprint(u*1000 + i), Content: fmt.Sprintf("m%03d", i)}
				for attempt := range 3 {
					if attempt > 0 {
						time.Sleep(300 * time.Millisecond)
					}
					req, err := csmsgtest.NewRequest(front.URL+"/wx", csmsg.Config{Token: "token"}, csmsgtest.ModePlaintext, msg, csmsg.FormatJSON)
					if !assert.NoError(t, err) {
						return
					}
					resp, err := client.Do(req)
					if err != nil {
						continue
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK && string(body) == "success" {
						answered[u][i] = true
						break
					}
				}
			}
		}()
	}
	sent := make(chan struct{})
	go func() { wg.Wait(); close(sent) }()
	for k := range kills {
		select {
		case <-sent:
		case <-time.After(time.Duration(100+rand.IntN(400)) * time.Millisecond):
		}
		bots[k%len(bots)].restart(t)
		if k == kills/2 { // one clean restart of redis-server, on its append-only file
			server.stop()
			time.Sleep(200 * time.Millisecond)
			server = startRedis(t, dir, server.port)
		}
	}
	<-sent

	want := map[string]bool{}
	abandoned := 0
	for u := range users {
		for i := range perUser {
			if answered[u][i] {
				want[fmt.Sprintf("user%02d m%03d", u, i)] = true
			} else {
				abandoned++
			}
		}
	}
	missing := func(path string) []string {
		got := map[string]bool{}
		for _, r := range rec.get(path) {
			got[r] = true
		}
		var m []string
		for k := range want {
			if !got[k] {
				m = append(m, k)
			}
		}
		sort.Strings(m)
		return m
	}
	require.Eventually(t, func() bool { return len(missing("/reply")) == 0 && len(missing("/done")) == 0 }, 30*time.Second, 20*time.Millisecond,
		"replies missing: %v\nprocessing missing: %v\nbots' log:\n%s", missing("/reply"), missing("/done"), logs.String())

	// Per-user order, and the twice-counts, bounded by the jobs running
	// at the kills and at the Redis restart (all of both instances').
	bound := kills*workers + len(bots)*workers
	twice := map[string]int{}
	for _, path := range []string{"/reply", "/done"} {
		seen := map[string]int{}
		last := map[string]string{}
		for _, r := range rec.get(path) {
			if seen[r]++; seen[r] > 1 {
				twice[path]++
				continue
			}
			user, content, _ := strings.Cut(r, " ")
			assert.Less(t, last[user], content, "%s: %s out of order", path, user)
			last[user] = content
		}
		assert.LessOrEqual(t, twice[path], bound, "%s twice beyond the jobs in flight at the kills and the restart", path)
	}
	t.Logf("%d pushes, %d answered success, %d abandoned after three attempts; 2 instances, %d kills, 1 redis-server restart; "+
		"%d replies, %d sent twice (Once steps run twice); %d processed, %d processed twice (bound %d)",
		users*perUser, len(want), abandoned, kills, len(rec.get("/reply")), twice["/reply"],
		len(rec.get("/done")), twice["/done"], bound)
}
