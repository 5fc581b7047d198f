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
	"strings"
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
	t      *testing.T
	dir    string
	port   int
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited and been waited for
}

// startRedis starts a redis-server on a free loopback port (port 0) or on
// port, with appendonly yes and appendfsync always, and waits until it
// answers. It skips the test when redis-server is not installed and
// REDIS_ADDR is not set (csmsgredis/ci.sh sets it and fails on skips).
//
// A free port is only free when it is picked: another process may bind it
// before redis-server does. So the server counts as started only while its
// process is alive and the Redis answering on the port reports its pid; a
// server that exited (it could not bind) is started again, on another
// port when any will do, else on port until a generous deadline.
func startRedis(t *testing.T, dir string, port int) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("REDIS_ADDR") == "" {
			t.Skip("redis-server not installed")
		}
		t.Fatal("redis-server not installed")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		p := port
		if p == 0 {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			p = l.Addr().(*net.TCPAddr).Port
			l.Close()
		}
		s := &redisServer{t: t, dir: dir, port: p, exited: make(chan struct{})}
		s.cmd = exec.Command("redis-server", "--port", strconv.Itoa(p), "--bind", "127.0.0.1",
			"--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always",
			"--logfile", filepath.Join(dir, "redis.log"))
		require.NoError(t, s.cmd.Start())
		go func() { s.cmd.Wait(); close(s.exited) }()
		t.Cleanup(s.stop)
		if s.answers(deadline) {
			return s
		}
		s.stop()
		require.True(t, time.Now().Before(deadline), "redis-server did not start on %s (see %s)", s.addr(), filepath.Join(dir, "redis.log"))
		time.Sleep(50 * time.Millisecond)
	}
}

// answers waits until s's own process answers on s.port, reporting false
// if the process exits first or deadline passes.
func (s *redisServer) answers(deadline time.Time) bool {
	rdb := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer rdb.Close()
	for {
		select {
		case <-s.exited:
			return false
		default:
		}
		if info, err := rdb.Info(context.Background(), "server").Result(); err == nil &&
			strings.Contains(info, fmt.Sprintf("\r\nprocess_id:%d\r\n", s.cmd.Process.Pid)) {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *redisServer) addr() string { return fmt.Sprint("127.0.0.1:", s.port) }

// stop stops the server cleanly (SIGTERM: it writes its data and exits).
func (s *redisServer) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.exited
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
