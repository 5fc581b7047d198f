package inbox_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
)

// TestSIGKILL plays WeChat on both sides of a bot process on the file
// store (internal/crashbot): users send pushes, each after the previous
// one was answered or abandoned after three attempts, while the bot is
// killed with SIGKILL and started again. Every push answered "success"
// must be replied to, in order per user; replies sent twice are counted and
// bounded by the jobs that can be in flight at a kill.
func TestSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a process")
	}
	const users, perUser, kills, workers = 20, 30, 5, 8
	dir := t.TempDir()
	bin := filepath.Join(dir, "crashbot")
	out, err := exec.Command("go", "build", "-o", bin, "./internal/crashbot").CombinedOutput()
	require.NoError(t, err, string(out))

	var mu sync.Mutex
	var replies []string // "user content", in arrival order
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		replies = append(replies, string(body))
		mu.Unlock()
	}))
	defer api.Close()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	var stderr logBuffer // the bots' logs
	var botMu sync.Mutex
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "-store", filepath.Join(dir, "bot.inbox"), "-listen", addr, "-send", api.URL)
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		return cmd
	}
	bot := start()
	defer func() {
		botMu.Lock()
		bot.Process.Kill()
		bot.Wait()
		botMu.Unlock()
	}()

	client := &http.Client{Timeout: 5 * time.Second} // WeChat's timeout
	answered := make([][]bool, users)
	var wg sync.WaitGroup
	for u := range users {
		answered[u] = make([]bool, perUser)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perUser {
				msg := text(fmt.Sprintf("user%02d", u), fmt.Sprint(u*1000+i), fmt.Sprintf("m%03d", i))
				for attempt := range 3 {
					if attempt > 0 {
						time.Sleep(300 * time.Millisecond)
					}
					req, err := csmsgtest.NewRequest("http://"+addr+"/wx", cfg, csmsgtest.ModePlaintext, msg, csmsg.FormatJSON)
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
	killed := 0
	for killed < kills {
		select {
		case <-sent:
		case <-time.After(time.Duration(100+rand.IntN(300)) * time.Millisecond):
		}
		botMu.Lock()
		require.NoError(t, bot.Process.Kill())
		bot.Wait()
		bot = start()
		botMu.Unlock()
		killed++
	}
	<-sent

	// Every push answered "success" is replied to, in the end.
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
	missing := func() []string {
		mu.Lock()
		defer mu.Unlock()
		got := map[string]bool{}
		for _, r := range replies {
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
	require.Eventually(t, func() bool { return len(missing()) == 0 }, 30*time.Second, 20*time.Millisecond,
		"replies missing: %v\nbot's log:\n%s", missing(), stderr.String())

	mu.Lock()
	defer mu.Unlock()
	seen := map[string]int{}
	last := map[string]string{}
	twice := 0
	for _, r := range replies {
		if seen[r]++; seen[r] > 1 {
			twice++
			continue
		}
		user, content, _ := strings.Cut(r, " ")
		assert.Less(t, last[user], content, "%s's replies out of order", user)
		last[user] = content
	}
	t.Logf("%d pushes, %d answered success, %d abandoned after three attempts, %d kills; %d replies, %d sent twice (at most %d jobs in flight per kill)",
		users*perUser, len(want), abandoned, kills, len(replies), twice, workers)
	assert.LessOrEqual(t, twice, kills*workers, "duplicates beyond the jobs in flight at the kills")
}
