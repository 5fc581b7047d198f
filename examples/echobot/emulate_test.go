package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEmulateKill runs the README's walkthrough with real processes: `csmsg
// emulate` and echobot, built from this tree. The user writes; the push is
// answered "success" at once; echobot is killed with SIGKILL while its
// model thinks and started again on the same inbox (the file, or a
// redis-server the test starts when one is on PATH); the reply arrives
// once. Then SIGTERM stops echobot cleanly (exit status 0).
func TestEmulateKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two programs")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-o", dir+string(os.PathSeparator),
		"github.com/csmsg/csmsg/cmd/csmsg", "github.com/csmsg/csmsg/examples/echobot")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	tests := []struct {
		name  string
		inbox func(t *testing.T) []string // echobot's flags for its inbox
	}{
		{"file", func(t *testing.T) []string { return []string{"--store", filepath.Join(t.TempDir(), "echobot.db")} }},
		{"redis", func(t *testing.T) []string { return []string{"--redis", startRedis(ctx, t)} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { walkthrough(ctx, t, dir, tt.inbox(t)) })
	}
}

// walkthrough is TestEmulateKill on the programs in dir, echobot's inbox
// given by inboxArgs.
func walkthrough(ctx context.Context, t *testing.T, dir string, inboxArgs []string) {
	var err error
	botAddr, emuAddr := freeAddr(t), freeAddr(t)
	emulate := exec.CommandContext(ctx, filepath.Join(dir, "csmsg"), "emulate",
		"--endpoint", "http://"+botAddr+"/wechat", "--addr", emuAddr, "--token", "csmsg-demo-token",
		"--aes-key", "Y3Ntc2cgZGVtbyBrZXkgLSBub3QgYSBzZWNyZXQwMDA", "--appid", "wx0123456789abcdef")
	require.NoError(t, emulate.Start())
	defer func() { emulate.Process.Kill(); emulate.Wait() }()
	emu := "http://" + emuAddr
	require.Eventually(t, func() bool { _, err := conversation(ctx, emu); return err == nil },
		10*time.Second, 20*time.Millisecond, "csmsg emulate did not start")

	args := append([]string{"--addr", botAddr, "--api", emu, "--think", "2s", "--lease", "1s"}, inboxArgs...)
	bot, _ := startEchobot(ctx, t, filepath.Join(dir, "echobot"), args)
	post(ctx, t, emu+"/api/text", `{"content":"hi"}`)
	var c conv
	require.Eventually(t, func() bool {
		c, err = conversation(ctx, emu)
		return err == nil && len(c.Entries) > 0 && c.Entries[0].Delivery.State != "sending"
	}, 10*time.Second, 10*time.Millisecond, "the push was not answered")
	delivery := c.Entries[0].Delivery
	require.Equal(t, "ok", delivery.State)
	require.Len(t, delivery.Attempts, 1)
	assert.Equal(t, "success", delivery.Attempts[0].Answer)
	assert.Less(t, delivery.Attempts[0].Millis, int64(1000))

	require.Eventually(t, func() bool { // the job runs: the bot typed, the model thinks
		c, err = conversation(ctx, emu)
		return err == nil && len(c.Entries) > 1 && c.Entries[1].From == "bot" && c.Entries[1].Kind == "typing"
	}, 10*time.Second, 10*time.Millisecond, "the job did not start")
	require.NoError(t, bot.Process.Signal(syscall.SIGKILL))
	bot.Wait()
	c, err = conversation(ctx, emu)
	require.NoError(t, err)
	assert.Empty(t, botTexts(c), "a reply before the model thought")

	bot, log := startEchobot(ctx, t, filepath.Join(dir, "echobot"), args)
	require.Eventually(t, func() bool {
		c, err = conversation(ctx, emu)
		return err == nil && len(botTexts(c)) > 0
	}, 20*time.Second, 20*time.Millisecond, "no reply after the restart")
	time.Sleep(time.Second) // a second reply would come by now
	c, err = conversation(ctx, emu)
	require.NoError(t, err)
	assert.Equal(t, []string{"echo: hi"}, botTexts(c))

	require.NoError(t, bot.Process.Signal(syscall.SIGTERM))
	assert.NoError(t, bot.Wait(), "echobot's exit after SIGTERM")
	assert.Contains(t, log.String(), `msg="echobot: answered" job=1 attempt=2`, "the restarted echobot's log")
}

// startRedis starts a redis-server without persistence on a free port
// for the test and returns its address; it skips the test when there is
// no redis-server on PATH.
func startRedis(ctx context.Context, t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("no redis-server on PATH")
	}
	addr := freeAddr(t)
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	cmd := exec.CommandContext(ctx, path, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--dir", t.TempDir())
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "redis-server did not start")
	return addr
}

// startEchobot starts echobot with args and returns once it listens, with
// its log (standard error) so far and to come. Wait for the process
// before reading the log whole.
func startEchobot(ctx context.Context, t *testing.T, path string, args []string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.CommandContext(ctx, path, args...)
	log := &syncBuffer{}
	cmd.Stderr = log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })
	require.Eventually(t, func() bool { return strings.Contains(log.String(), "echobot: listening") },
		10*time.Second, 10*time.Millisecond, "echobot did not listen:\n%s", log)
	return cmd, log
}

// syncBuffer is a bytes.Buffer that a process writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freeAddr returns a loopback address with a port free at the time.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// conv is the part of the emulator's GET /api/conversation the test reads.
type conv struct {
	Entries []struct {
		From     string `json:"from"`
		Kind     string `json:"kind"`
		Text     string `json:"text"`
		Delivery *struct {
			State    string `json:"state"`
			Attempts []struct {
				Answer string `json:"answer"`
				Millis int64  `json:"ms"`
			} `json:"attempts"`
		} `json:"delivery"`
	} `json:"entries"`
}

func conversation(ctx context.Context, base string) (conv, error) {
	var c conv
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/conversation", nil)
	if err != nil {
		return c, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return c, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c, fmt.Errorf("conversation: %s", resp.Status)
	}
	return c, json.NewDecoder(resp.Body).Decode(&c)
}

func post(ctx context.Context, t *testing.T, url, body string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// botTexts returns the texts the bot sent in c.
func botTexts(c conv) []string {
	var out []string
	for _, e := range c.Entries {
		if e.From == "bot" && e.Kind == "text" {
			out = append(out, e.Text)
		}
	}
	return out
}
