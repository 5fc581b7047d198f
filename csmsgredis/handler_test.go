package csmsgredis_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgredis"
	"github.com/csmsg/csmsg/csmsgtest"
	"github.com/csmsg/csmsg/internal/wxcrypto"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The configurations of the two modes the tests push in.
var (
	plainCfg = csmsg.Config{Token: "csmsgtest-token"}
	safeCfg  = csmsg.Config{
		Token:          "csmsgtest-token",
		EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
		AppID:          "wxba5fad812f8e6fb9",
	}
)

// cfgOf returns the configuration of a receiver of mode.
func cfgOf(mode csmsgtest.Mode) csmsg.Config {
	if mode == csmsgtest.ModePlaintext {
		return plainCfg
	}
	return safeCfg
}

// newServer starts an httptest server of h on loopback with the server
// timeouts csmsg documents for its Handler, closed when t ends.
func newServer(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadHeaderTimeout = 2 * time.Second
	srv.Config.ReadTimeout = 5 * time.Second
	srv.Config.WriteTimeout = 10 * time.Second
	srv.Config.IdleTimeout = 60 * time.Second
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// instance is one instance of a backend: a Receiver's Handler on a server.
type instance struct {
	r   *csmsg.Receiver
	srv *httptest.Server
}

// newInstance starts an instance of cfg with dedup store d and fn.
func newInstance(t testing.TB, cfg csmsg.Config, d csmsg.Deduper, logger *slog.Logger, fn csmsg.HandlerFunc) *instance {
	t.Helper()
	cfg.Dedup, cfg.Logger = d, logger
	r, err := csmsg.NewReceiver(cfg)
	require.NoError(t, err)
	return &instance{r: r, srv: newServer(t, r.Handler(fn))}
}

// textMsg returns a text message with a MsgId of its own.
func textMsg() *csmsg.Text {
	return &csmsg.Text{
		Header: csmsg.Header{
			ToUserName:   "gh_97417a04a28d",
			FromUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
			CreateTime:   time.Now().Unix(),
			MsgType:      csmsg.MsgTypeText,
		},
		MsgID:   strconv.FormatUint(rand.Uint64(), 10),
		Content: "人工客服",
	}
}

// attempt is one attempt at a push and what it was answered.
type attempt struct {
	push   *csmsgtest.Push
	status int
	body   []byte
	err    error
}

// client is the HTTP client of the tests' WeChat: it gives up after 5
// seconds, as WeChat does.
var client = &http.Client{Timeout: 5 * time.Second}

// send signs msg afresh, as WeChat does for each attempt (a new nonce and,
// in safe mode, a new encryption), and posts it to inst.
func send(t testing.TB, inst *instance, mode csmsgtest.Mode, msg csmsg.Message, f csmsg.Format) attempt {
	t.Helper()
	p, err := csmsgtest.SignMessage(cfgOf(mode), mode, msg, f)
	require.NoError(t, err)
	req, err := p.Request(inst.srv.URL + "/wechat")
	require.NoError(t, err)
	req.RequestURI = "" // csmsgtest sets it for ServeHTTP; a client must not
	a := attempt{push: p}
	resp, err := client.Do(req)
	if err != nil {
		a.err = err
		return a
	}
	defer resp.Body.Close()
	a.status = resp.StatusCode
	a.body, a.err = io.ReadAll(resp.Body)
	return a
}

// plaintext returns the answer of a, opened in safe mode with safeCfg's
// key after checking that it is signed for a's own nonce; "success" stays
// as is. (The receiver argument, the one that answered, is not needed.)
func plaintext(t testing.TB, _ *csmsg.Receiver, mode csmsgtest.Mode, a attempt) string {
	t.Helper()
	require.NoError(t, a.err)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	if mode == csmsgtest.ModePlaintext || string(a.body) == "success" {
		return string(a.body)
	}
	env, err := wxcrypto.ReadReply(a.body)
	require.NoError(t, err, "%s", a.body)
	require.Equal(t, a.push.Query.Get("nonce"), env.Nonce, "the answer is for this attempt's nonce")
	key, err := wxcrypto.ParseKey(safeCfg.EncodingAESKey)
	require.NoError(t, err)
	plain, err := env.Open(key, safeCfg.Token, safeCfg.AppID)
	require.NoError(t, err)
	return string(plain)
}

// pair returns two instances of mode sharing one Redis through clients of
// their own, and a Dedup of the same keys for the test to look with.
func pair(t *testing.T, mode csmsgtest.Mode, opts csmsgredis.DedupOptions, logger *slog.Logger, fns ...csmsg.HandlerFunc) ([2]*instance, *csmsgredis.Dedup, *redis.Client) {
	t.Helper()
	return pairOf(t, cfgOf(mode), opts, logger, fns...)
}

// pairOf is pair of instances of cfg.
func pairOf(t *testing.T, cfg csmsg.Config, opts csmsgredis.DedupOptions, logger *slog.Logger, fns ...csmsg.HandlerFunc) ([2]*instance, *csmsgredis.Dedup, *redis.Client) {
	t.Helper()
	addr := redisAddr(t)
	opts.Prefix = uniquePrefix(t)
	var insts [2]*instance
	for i := range insts {
		insts[i] = newInstance(t, cfg, csmsgredis.NewDedup(newClient(t, addr), opts), logger, fns[i%len(fns)])
	}
	rdb := newClient(t, addr)
	return insts, csmsgredis.NewDedup(rdb, opts), rdb
}

// transferring counts its calls and answers each text with a transfer
// after a pause.
type transferring struct {
	calls atomic.Int64
	pause time.Duration
}

func (h *transferring) handle(_ context.Context, m csmsg.Message) (*csmsg.Reply, error) {
	h.calls.Add(1)
	time.Sleep(h.pause)
	return csmsg.Transfer(m), nil
}

// TestTwoInstancesOnePush: a push and its retries, sent concurrently to
// two instances sharing Redis, are handled once, and every attempt is
// answered the same transfer, encrypted for its own nonce in safe mode.
func TestTwoInstancesOnePush(t *testing.T) {
	for _, mode := range []csmsgtest.Mode{csmsgtest.ModePlaintext, csmsgtest.ModeSafe} {
		for _, f := range []csmsg.Format{csmsg.FormatXML, csmsg.FormatJSON} {
			t.Run(fmt.Sprintf("%v/%v", mode, f), func(t *testing.T) {
				t.Parallel()
				h := &transferring{pause: 100 * time.Millisecond}
				insts, _, _ := pair(t, mode, csmsgredis.DedupOptions{}, nil, h.handle)
				msg := textMsg()

				attempts := make([]attempt, 3)
				var wg sync.WaitGroup
				for i := range attempts {
					wg.Add(1)
					go func() {
						defer wg.Done()
						attempts[i] = send(t, insts[i%2], mode, msg, f)
					}()
				}
				wg.Wait()
				// And two late retries, one to each instance.
				attempts = append(attempts, send(t, insts[0], mode, msg, f), send(t, insts[1], mode, msg, f))

				assert.Equal(t, int64(1), h.calls.Load(), "fn runs exactly once")
				want := plaintext(t, insts[0].r, mode, attempts[0])
				assert.Contains(t, want, "transfer_customer_service")
				assert.Contains(t, want, msg.FromUserName)
				for i, a := range attempts {
					assert.Equal(t, want, plaintext(t, insts[i%2].r, mode, a), "attempt %d", i)
				}
				if mode == csmsgtest.ModeSafe {
					assert.NotEqual(t, attempts[0].body, attempts[1].body, "each answer is encrypted afresh")
				}
			})
		}
	}
}

// TestFailureLetsRetryRunElsewhere: fn failing on one instance answers 500;
// WeChat's retry on the other instance handles the push, and a later retry
// on the first gets that answer without calling fn again.
func TestFailureLetsRetryRunElsewhere(t *testing.T) {
	t.Parallel()
	var failures atomic.Int64
	failing := func(context.Context, csmsg.Message) (*csmsg.Reply, error) {
		failures.Add(1)
		time.Sleep(200 * time.Millisecond)
		return nil, errors.New("the backend's database is down")
	}
	h := &transferring{}
	insts, _, _ := pair(t, csmsgtest.ModeSafe, csmsgredis.DedupOptions{}, nil, failing, h.handle)
	msg := textMsg()

	t.Run("after", func(t *testing.T) {
		a := send(t, insts[0], csmsgtest.ModeSafe, msg, csmsg.FormatXML)
		require.NoError(t, a.err)
		assert.Equal(t, http.StatusInternalServerError, a.status)
		want := plaintext(t, insts[1].r, csmsgtest.ModeSafe, send(t, insts[1], csmsgtest.ModeSafe, msg, csmsg.FormatXML))
		assert.Contains(t, want, "transfer_customer_service")
		assert.Equal(t, want, plaintext(t, insts[0].r, csmsgtest.ModeSafe, send(t, insts[0], csmsgtest.ModeSafe, msg, csmsg.FormatXML)))
		assert.Equal(t, int64(1), failures.Load())
		assert.Equal(t, int64(1), h.calls.Load())
	})

	t.Run("while waiting", func(t *testing.T) {
		// The retry reaches the second instance while the first attempt
		// still runs: it waits, then handles the push itself.
		failures.Store(0)
		h.calls.Store(0)
		msg := textMsg()
		first := make(chan attempt)
		go func() { first <- send(t, insts[0], csmsgtest.ModeSafe, msg, csmsg.FormatJSON) }()
		// The first attempt holds the claim once its fn runs.
		require.Eventually(t, func() bool { return failures.Load() == 1 }, 10*time.Second, time.Millisecond)
		retry := send(t, insts[1], csmsgtest.ModeSafe, msg, csmsg.FormatJSON)
		a := <-first
		require.NoError(t, a.err)
		assert.Equal(t, http.StatusInternalServerError, a.status)
		assert.Contains(t, plaintext(t, insts[1].r, csmsgtest.ModeSafe, retry), "transfer_customer_service")
		assert.Equal(t, int64(1), failures.Load())
		assert.Equal(t, int64(1), h.calls.Load())
	})
}

// TestCrashedInstanceClaimLapses: an instance that claimed a push and died
// never completes it; its claim lapses after the lease and the retry on
// another instance handles the push.
func TestCrashedInstanceClaimLapses(t *testing.T) {
	t.Parallel()
	h := &transferring{}
	lease := 300 * time.Millisecond
	insts, store, _ := pair(t, csmsgtest.ModePlaintext, csmsgredis.DedupOptions{Lease: lease}, nil, h.handle)
	msg := textMsg()
	start := time.Now() // before the lease starts, so no stall shortens the wait
	_, done, err := store.Acquire(ctx, csmsg.DedupKey(msg), "crashed-instance", never)
	require.NoError(t, err)
	require.False(t, done)

	a := send(t, insts[1], csmsgtest.ModePlaintext, msg, csmsg.FormatXML)
	waited := time.Since(start)
	assert.Contains(t, plaintext(t, insts[1].r, csmsgtest.ModePlaintext, a), "transfer_customer_service")
	assert.Equal(t, int64(1), h.calls.Load())
	assert.GreaterOrEqual(t, waited, lease-50*time.Millisecond, "the retry waited for the lease")
	assert.Less(t, waited, 5*time.Second)
	assert.ErrorIs(t, store.Complete(ctx, csmsg.DedupKey(msg), "crashed-instance", nil, never), csmsg.ErrNotOwner)
}

// TestKeysExpireAfterTTL: a handled push is forgotten after the TTL, its
// key gone from Redis, when the receivers check no timestamp (so that no
// replay window keeps it longer; see TestReplayWindow).
func TestKeysExpireAfterTTL(t *testing.T) {
	t.Parallel()
	h := &transferring{}
	ttl := 300 * time.Millisecond
	cfg := cfgOf(csmsgtest.ModePlaintext)
	cfg.Tolerance = -1
	insts, store, rdb := pairOf(t, cfg, csmsgredis.DedupOptions{TTL: ttl}, nil, h.handle)
	msg := textMsg()
	rkey := store.Key(csmsg.DedupKey(msg))

	send(t, insts[0], csmsgtest.ModePlaintext, msg, csmsg.FormatJSON)
	send(t, insts[1], csmsgtest.ModePlaintext, msg, csmsg.FormatJSON)
	assert.Equal(t, int64(1), h.calls.Load())
	pttl, err := rdb.PTTL(ctx, rkey).Result()
	require.NoError(t, err)
	assert.Greater(t, pttl, time.Duration(0))
	assert.LessOrEqual(t, pttl, ttl)

	time.Sleep(ttl + 100*time.Millisecond)
	n, err := rdb.Exists(ctx, rkey).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "the key expired")
	send(t, insts[1], csmsgtest.ModePlaintext, msg, csmsg.FormatJSON)
	assert.Equal(t, int64(2), h.calls.Load(), "a push older than the TTL is new again")
}

// TestRedisStoppedMidTest: with the shared Redis gone, a push is still
// handled and the failure is reported to Config.Logger; a retry is then
// handled again (a duplicate is better than a lost message).
func TestRedisStoppedMidTest(t *testing.T) {
	t.Parallel()
	own := startOwnRedis(t)
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	h := &transferring{}
	prefix := uniquePrefix(t)
	var insts [2]*instance
	for i := range insts {
		insts[i] = newInstance(t, plainCfg, csmsgredis.NewDedup(newClient(t, own.Addr), csmsgredis.DedupOptions{Prefix: prefix}), logger, h.handle)
	}

	msg := textMsg()
	first := plaintext(t, insts[0].r, csmsgtest.ModePlaintext, send(t, insts[0], csmsgtest.ModePlaintext, msg, csmsg.FormatXML))
	assert.Equal(t, first, plaintext(t, insts[1].r, csmsgtest.ModePlaintext, send(t, insts[1], csmsgtest.ModePlaintext, msg, csmsg.FormatXML)))
	assert.Equal(t, int64(1), h.calls.Load())
	assert.Empty(t, logs.String())

	own.Stop()

	other := textMsg()
	start := time.Now()
	a := send(t, insts[1], csmsgtest.ModePlaintext, other, csmsg.FormatXML)
	t.Logf("a push with Redis down took %v", time.Since(start))
	assert.Less(t, time.Since(start), 5*time.Second, "inside WeChat's 5 seconds")
	assert.Contains(t, plaintext(t, insts[1].r, csmsgtest.ModePlaintext, a), "transfer_customer_service")
	assert.Equal(t, int64(2), h.calls.Load(), "the push is handled without Redis")
	assert.Contains(t, logs.String(), "the dedup store failed")
	assert.Contains(t, logs.String(), "handling the push without deduplication")
	assert.Contains(t, logs.String(), "csmsgredis: acquire")

	a = send(t, insts[0], csmsgtest.ModePlaintext, msg, csmsg.FormatXML)
	assert.Contains(t, plaintext(t, insts[0].r, csmsgtest.ModePlaintext, a), "transfer_customer_service")
	assert.Equal(t, int64(3), h.calls.Load(), "without Redis a retry is handled again")
}

// TestSlowHandlerTransferReachesRetry: fn takes 6 seconds and transfers
// the chat. WeChat gives up on the first attempt after 5 seconds and
// retries on the other instance, which waits for the first attempt and
// answers its transfer, encrypted for the retry. The one slow test (about
// 6 s), run in parallel with the rest.
func TestSlowHandlerTransferReachesRetry(t *testing.T) {
	t.Parallel()
	h := &transferring{pause: 6 * time.Second}
	insts, _, _ := pair(t, csmsgtest.ModeSafe, csmsgredis.DedupOptions{}, nil, h.handle)
	msg := textMsg()

	first := make(chan attempt, 1)
	go func() { first <- send(t, insts[0], csmsgtest.ModeSafe, msg, csmsg.FormatJSON) }()
	time.Sleep(5 * time.Second)
	retry := send(t, insts[1], csmsgtest.ModeSafe, msg, csmsg.FormatJSON)
	a := <-first
	assert.Error(t, a.err, "WeChat gave up on the first attempt")
	got := plaintext(t, insts[1].r, csmsgtest.ModeSafe, retry)
	assert.Contains(t, got, `"MsgType":"transfer_customer_service"`)
	assert.Equal(t, int64(1), h.calls.Load())
	// The last retry, later still, gets the same transfer.
	assert.Equal(t, got, plaintext(t, insts[0].r, csmsgtest.ModeSafe, send(t, insts[0], csmsgtest.ModeSafe, msg, csmsg.FormatJSON)))
}
