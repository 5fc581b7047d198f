package csmsgredis_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgredis"
	"github.com/csmsg/csmsg/csmsgtest"
	"github.com/csmsg/csmsg/inbox"
	"github.com/csmsg/csmsg/inbox/queue"
)

// redisServer is a redis-server process a test started, with an
// append-only file in its own directory.
type redisServer struct {
	t    *testing.T
	dir  string
	port int
	cmd  *exec.Cmd
}

// startRedis starts a redis-server on a free loopback port (port 0) or on
// port, with appendonly yes and appendfsync always, and waits until it
// answers. It skips the test when redis-server is not installed and
// REDIS_ADDR is not set (csmsgredis/ci.sh sets it and fails on skips).
func startRedis(t *testing.T, dir string, port int) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("REDIS_ADDR") == "" {
			t.Skip("redis-server not installed")
		}
		t.Fatal("redis-server not installed")
	}
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	s := &redisServer{t: t, dir: dir, port: port}
	s.cmd = exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--logfile", filepath.Join(dir, "redis.log"))
	require.NoError(t, s.cmd.Start())
	t.Cleanup(s.stop)
	rdb := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer rdb.Close()
	for i := 0; ; i++ {
		if rdb.Ping(context.Background()).Err() == nil {
			return s
		}
		require.Less(t, i, 100, "redis-server did not answer on %s", s.addr())
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *redisServer) addr() string { return fmt.Sprint("127.0.0.1:", s.port) }

// stop stops the server cleanly (SIGTERM: it writes its data and exits).
func (s *redisServer) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
}

// Redis down while accepting: the Receiver answers an error status, so
// WeChat retries; after Redis is back, the retry is accepted, and a push
// accepted before the stop is still a duplicate after the restart.
func TestAcceptWhileRedisIsDown(t *testing.T) {
	dir := t.TempDir()
	server := startRedis(t, dir, 0)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: server.addr(), MaxRetries: 1, DialTimeout: time.Second})
	defer rdb.Close()
	q, err := csmsgredis.NewQueue(ctx, rdb, csmsgredis.QueueOptions{Prefix: "bot"})
	require.NoError(t, err)
	var logs bytes.Buffer
	ib := inbox.New(q, inbox.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer ib.Close()
	cfg := csmsg.Config{Token: "token", Dedup: ib}
	r, err := csmsg.NewReceiver(cfg)
	require.NoError(t, err)
	h := r.Handler(ib.Accept)
	push := func(id string) (int, string) {
		msg := &csmsg.Text{Header: csmsg.Header{ToUserName: "gh_97417a04a28d", FromUserName: "o-user", MsgType: "text"},
			MsgID: id, Content: "hello " + id}
		req, err := csmsgtest.NewRequest("/wx", cfg, csmsgtest.ModePlaintext, msg, csmsg.FormatJSON)
		require.NoError(t, err)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}

	code, body := push("1")
	assert.Equal(t, []any{http.StatusOK, "success"}, []any{code, body}, "Redis up")

	server.stop()
	_, err = q.Accept(ctx, queue.Push{Key: "k", Group: "g", Body: []byte("x")})
	assert.ErrorIs(t, err, csmsgredis.ErrRedis, "the store's error")
	code, _ = push("2")
	assert.Equal(t, http.StatusInternalServerError, code, "Redis down: not acknowledged, WeChat retries")
	assert.Contains(t, logs.String(), `msg="inbox: push refused, the store failed; WeChat will retry it" err="csmsgredis: redis call failed: accept: dial tcp `+server.addr()+`: connect: connection refused"`)

	startRedis(t, dir, server.port) // a clean restart on the same append-only file
	code, body = push("2")
	assert.Equal(t, []any{http.StatusOK, "success"}, []any{code, body}, "WeChat's retry, Redis back")
	code, body = push("1")
	assert.Equal(t, []any{http.StatusOK, "success"}, []any{code, body}, "a retry of the push accepted before the restart")
	st, err := ib.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, st.Queued, "one job per push, through the restart")
}
