package csmsgredis_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csmsg/csmsg/csmsgredis"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// skipMessage says how to run the tests that need Redis.
const skipMessage = "set REDIS_ADDR to a redis-server to run these tests; csmsgredis/ci.sh does"

// redisAddr returns the address of the Redis the tests share, or skips t.
func redisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		t.Skip(skipMessage)
	}
	return addr
}

// newClient returns a client of the Redis at addr, closed when t ends,
// with timeouts well under WeChat's 5 seconds as the package doc advises.
func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:                  addr,
		DialTimeout:           500 * time.Millisecond,
		ReadTimeout:           500 * time.Millisecond,
		WriteTimeout:          500 * time.Millisecond,
		ContextTimeoutEnabled: true,
		MaxRetries:            1,
		DialerRetries:         1,
	})
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	require.NoError(t, c.Ping(ctx).Err(), "REDIS_ADDR=%s does not answer PING", addr)
	return c
}

// sharedClient returns a client of REDIS_ADDR, or skips t.
func sharedClient(t testing.TB) *redis.Client {
	t.Helper()
	return newClient(t, redisAddr(t))
}

// uniquePrefix returns a key prefix no other test uses.
func uniquePrefix(t testing.TB) string {
	var b [6]byte
	rand.Read(b[:])
	name := strings.NewReplacer("/", ":", " ", "_").Replace(t.Name())
	return "csmsgtest:" + name + ":" + hex.EncodeToString(b[:]) + ":"
}

// newDedup returns a Dedup on client with opts and a prefix of its own
// unless opts names one.
func newDedup(t testing.TB, client redis.UniversalClient, opts csmsgredis.DedupOptions) *csmsgredis.Dedup {
	if opts.Prefix == "" {
		opts.Prefix = uniquePrefix(t)
	}
	return csmsgredis.NewDedup(client, opts)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ownRedis is a redis-server a test started and may stop.
type ownRedis struct {
	Addr string
	cmd  *exec.Cmd
	once sync.Once
}

// startOwnRedis starts a redis-server of the test's own on a free loopback
// port, stopped when t ends, or skips t if there is no redis-server binary.
func startOwnRedis(t testing.TB) *ownRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("no redis-server binary to start a Redis of the test's own")
	}
	port := freePort(t)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	r := &ownRedis{Addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd}
	t.Cleanup(r.Stop)
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", r.Addr, 100*time.Millisecond)
		if err == nil {
			conn.Close()
			return r
		}
		if time.Now().After(deadline) {
			r.Stop()
			t.Fatalf("redis-server on %s did not start: %v\n%s", r.Addr, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the redis-server and waits for it to exit.
func (r *ownRedis) Stop() {
	r.once.Do(func() {
		r.cmd.Process.Kill()
		r.cmd.Wait()
	})
}

// lockedBuffer is a bytes.Buffer safe for concurrent writes, for a logger.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
