package csmsgredis_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgredis"
	"github.com/csmsg/csmsg/csmsgtest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeTime is a clock shared by the receivers and the stores of a test,
// and the Redis keys of a prefix aged with it: Redis's own clock cannot be
// moved, so advancing takes the time off each key's time to live.
type fakeTime struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeTime) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// advanceTo moves the clock to the Unix second unix and ages the keys of
// prefix as much: a key whose time to live runs out is deleted.
func (c *fakeTime) advanceTo(t *testing.T, rdb *redis.Client, prefix string, unix int64) {
	t.Helper()
	c.mu.Lock()
	d := time.Unix(unix, 0).Sub(c.now)
	c.now = time.Unix(unix, 0)
	c.mu.Unlock()
	require.GreaterOrEqual(t, d, time.Duration(0))
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	for _, k := range keys {
		pttl, err := rdb.PTTL(ctx, k).Result()
		require.NoError(t, err)
		if left := pttl - d; left > 0 {
			require.NoError(t, rdb.PExpire(ctx, k, left).Err())
		} else {
			require.NoError(t, rdb.Del(ctx, k).Err())
		}
	}
}

// TestReplayWindow: a captured push replayed at any moment its signature
// is still accepted, to either instance, whatever the skew between
// WeChat's clock and the receivers' that Tolerance allows, is answered
// from Redis and never handled again; the key is kept RetryWindow past
// the last such moment and no longer (with a TTL shorter than that).
func TestReplayWindow(t *testing.T) {
	const tol = csmsg.DefaultTolerance
	const start = int64(1714112445)
	sec := func(d time.Duration) int64 { return int64(d / time.Second) }
	rdb := sharedClient(t)
	for _, mode := range []csmsgtest.Mode{csmsgtest.ModePlaintext, csmsgtest.ModeSafe} {
		for _, skew := range []time.Duration{-tol, -time.Minute, 0, time.Minute, tol} { // WeChat's clock minus the receivers'
			t.Run(fmt.Sprintf("%v/skew %v", mode, skew), func(t *testing.T) {
				t.Parallel()
				clock := &fakeTime{now: time.Unix(start, 0)}
				prefix := uniquePrefix(t)
				var calls atomic.Int32
				var handlers [2]http.Handler
				for i := range handlers {
					cfg := cfgOf(mode)
					cfg.Now = clock.Now
					cfg.Dedup = csmsgredis.NewDedup(rdb, csmsgredis.DedupOptions{Prefix: prefix, Now: clock.Now, TTL: time.Second})
					r, err := csmsg.NewReceiver(cfg)
					require.NoError(t, err)
					handlers[i] = r.Handler(func(_ context.Context, m csmsg.Message) (*csmsg.Reply, error) {
						calls.Add(1)
						return csmsg.Transfer(m), nil
					})
				}
				ts := start + sec(skew)
				cfg := cfgOf(mode)
				cfg.Now = func() time.Time { return time.Unix(ts, 0) }
				msg := textMsg()
				p, err := csmsgtest.SignMessage(cfg, mode, msg, csmsg.FormatJSON)
				require.NoError(t, err)
				replay := func(i int, unix int64) int {
					clock.advanceTo(t, rdb, prefix, unix)
					req := httptest.NewRequest(http.MethodPost, "/wechat?"+p.Query.Encode(), strings.NewReader(string(p.Body)))
					w := httptest.NewRecorder()
					handlers[i%2].ServeHTTP(w, req)
					return w.Code
				}

				require.Equal(t, http.StatusOK, replay(0, start), "the push")
				rkey := prefix + csmsg.DedupKey(msg)
				pttl, err := rdb.PTTL(ctx, rkey).Result()
				require.NoError(t, err)
				assert.InDelta(t, time.Unix(ts, 0).Add(tol+csmsg.RetryWindow).Sub(time.Unix(start, 0)).Seconds(), pttl.Seconds(), 1,
					"completed with the push's keep-until")
				for i, moment := range []int64{start, max(start, ts), max(start, ts+sec(tol)-1), ts + sec(tol)} {
					assert.Equal(t, http.StatusOK, replay(i+1, moment), "a replay at %+ds", moment-ts)
				}
				assert.Equal(t, int32(1), calls.Load(), "handled once")
				assert.Equal(t, http.StatusUnauthorized, replay(0, ts+sec(tol)+1), "the signature expired")

				last := ts + sec(tol+csmsg.RetryWindow)
				clock.advanceTo(t, rdb, prefix, last-1)
				n, err := rdb.Exists(ctx, rkey).Result()
				require.NoError(t, err)
				assert.Equal(t, int64(1), n, "kept until RetryWindow after the window")
				clock.advanceTo(t, rdb, prefix, last)
				n, err = rdb.Exists(ctx, rkey).Result()
				require.NoError(t, err)
				assert.Zero(t, n, "forgotten after it")
			})
		}
	}
}

// TestRoundTrips counts the commands a push costs Redis through a
// Receiver's Handler: a fresh push two (claim; complete with the answer),
// a retry or replay of a handled push one.
func TestRoundTrips(t *testing.T) {
	rdb := newClient(t, redisAddr(t))
	hook := &countingHook{}
	rdb.AddHook(hook)
	store := csmsgredis.NewDedup(rdb, csmsgredis.DedupOptions{Prefix: uniquePrefix(t)})
	r, err := csmsg.NewReceiver(csmsg.Config{Token: plainCfg.Token, Dedup: store})
	require.NoError(t, err)
	h := r.Handler(func(_ context.Context, m csmsg.Message) (*csmsg.Reply, error) { return csmsg.Transfer(m), nil })
	serve := func(p *csmsgtest.Push) int {
		req := httptest.NewRequest(http.MethodPost, "/wechat?"+p.Query.Encode(), strings.NewReader(string(p.Body)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	push := func() *csmsgtest.Push {
		p, err := csmsgtest.SignMessage(plainCfg, csmsgtest.ModePlaintext, textMsg(), csmsg.FormatJSON)
		require.NoError(t, err)
		return p
	}
	require.Equal(t, http.StatusOK, serve(push())) // loads the scripts
	for i := 0; i < 3; i++ {
		p := push()
		hook.n.Store(0)
		require.Equal(t, http.StatusOK, serve(p))
		assert.Equal(t, int64(2), hook.n.Load(), "a fresh push")
		hook.n.Store(0)
		require.Equal(t, http.StatusOK, serve(p))
		assert.Equal(t, int64(1), hook.n.Load(), "a replay")
	}
}

// pipelineHook counts the round trips of a client: each command alone,
// and each pipeline.
type pipelineHook struct{ trips atomic.Int64 }

func (h *pipelineHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *pipelineHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.trips.Add(1)
		return next(ctx, cmd)
	}
}

func (h *pipelineHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.trips.Add(1)
		return next(ctx, cmds)
	}
}

// TestExtendIsOneRoundTrip: a batch of claims is renewed in one pipelined
// round trip, and the claims not held are reported.
func TestExtendIsOneRoundTrip(t *testing.T) {
	rdb := newClient(t, redisAddr(t))
	hook := &pipelineHook{}
	rdb.AddHook(hook)
	s := csmsgredis.NewDedup(rdb, csmsgredis.DedupOptions{Prefix: uniquePrefix(t)})
	var claims []csmsg.Claim
	for i := 0; i < 20; i++ {
		c := csmsg.Claim{Key: "k" + strconv.Itoa(i), Owner: "o" + strconv.Itoa(i)}
		_, done, err := s.Acquire(ctx, c.Key, c.Owner, never)
		require.NoError(t, err)
		require.False(t, done)
		claims = append(claims, c)
	}
	require.NoError(t, s.Release(ctx, "k3", "o3"))
	stranger := csmsg.Claim{Key: "k4", Owner: "someone else"}
	hook.trips.Store(0)
	lost, err := s.Extend(ctx, append(claims, stranger))
	require.NoError(t, err)
	assert.Equal(t, []csmsg.Claim{claims[3], stranger}, lost)
	assert.LessOrEqual(t, hook.trips.Load(), int64(2), "one pipeline (and one more to load the script into a fresh Redis)")
	hook.trips.Store(0)
	lost, err = s.Extend(ctx, claims)
	require.NoError(t, err)
	assert.Equal(t, []csmsg.Claim{claims[3]}, lost)
	assert.Equal(t, int64(1), hook.trips.Load())
}
