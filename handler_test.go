package csmsg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// textPush returns a signed push of testdata/text.<ext> in mode, from a
// receiver like r's (its Token, key and clock).
func textPush(t *testing.T, r *Receiver, ext string, mode Mode) (url.Values, []byte) {
	t.Helper()
	body, err := os.ReadFile("testdata/text" + ext)
	require.NoError(t, err)
	q, push, err := signPush(r, body, mode)
	require.NoError(t, err)
	return q, push
}

func TestHandlerStatus(t *testing.T) {
	r := newReceiver(t, false, hostileNow, nil)
	q, body := textPush(t, r, ".json", ModePlaintext)
	failing := r.Handler(func(context.Context, Message) (*Reply, error) { return nil, errors.New("database down") })
	ok := r.Handler(func(context.Context, Message) (*Reply, error) { return nil, nil })

	w := serve(failing, http.MethodPost, q, body)
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Equal(t, "Internal Server Error\n", w.Body.String())

	w = serve(ok, http.MethodPost, q, body)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "success", w.Body.String())
	assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))

	w = serve(r.Handler(nil), http.MethodPost, q, body)
	assert.Equal(t, http.StatusOK, w.Code, "a nil HandlerFunc answers success")
	assert.Equal(t, "success", w.Body.String())

	for _, method := range []string{http.MethodPut, http.MethodDelete, http.MethodHead, http.MethodPatch, http.MethodOptions} {
		w := serve(ok, method, q, body)
		assert.Equal(t, http.StatusMethodNotAllowed, w.Code, method)
		assert.Equal(t, "GET, POST", w.Header().Get("Allow"), method)
	}

	// A ContentLength over the limit is refused before the body is read.
	small := newReceiver(t, false, hostileNow, func(c *Config) { c.MaxBodyBytes = 10 })
	req := httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), bytes.NewReader(body))
	w = httptest.NewRecorder()
	small.Handler(nil).ServeHTTP(w, req)
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
}

// counter is a HandlerFunc that counts its calls and answers with reply.
type counter struct {
	calls atomic.Int32
	reply func(Message) *Reply
	err   error
}

func (c *counter) handle(_ context.Context, m Message) (*Reply, error) {
	c.calls.Add(1)
	if c.reply != nil {
		return c.reply(m), c.err
	}
	return nil, c.err
}

func TestHandlerDedup(t *testing.T) {
	for _, mode := range []Mode{ModePlaintext, ModeSafe} {
		t.Run(mode.String(), func(t *testing.T) {
			r := newReceiver(t, mode == ModeSafe, hostileNow, nil)
			var c counter
			h := r.Handler(c.handle)
			// Each retry is signed anew (another nonce), as WeChat does.
			for i := 0; i < 3; i++ {
				q, body := textPush(t, r, ".xml", mode)
				w := serve(h, http.MethodPost, q, body)
				assert.Equal(t, http.StatusOK, w.Code)
				assert.Equal(t, "success", w.Body.String())
			}
			assert.Equal(t, int32(1), c.calls.Load())

			// Another message of the same user is not a retry.
			other := []byte(`{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714037059,"MsgType":"text","Content":"again","MsgId":6054768590064713799}`)
			q, body, err := signPush(r, other, mode)
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, serve(h, http.MethodPost, q, body).Code)
			assert.Equal(t, int32(2), c.calls.Load())
		})
	}
}

func TestHandlerRetryAfterFailure(t *testing.T) {
	r := newReceiver(t, false, hostileNow, nil)
	c := counter{err: errors.New("transient")}
	h := r.Handler(c.handle)
	q, body := textPush(t, r, ".json", ModePlaintext)

	assert.Equal(t, http.StatusInternalServerError, serve(h, http.MethodPost, q, body).Code)
	assert.Equal(t, http.StatusInternalServerError, serve(h, http.MethodPost, q, body).Code)
	c.err = nil
	assert.Equal(t, http.StatusOK, serve(h, http.MethodPost, q, body).Code)
	assert.Equal(t, http.StatusOK, serve(h, http.MethodPost, q, body).Code)
	assert.Equal(t, int32(3), c.calls.Load(), "two failures and one success; the last retry is a duplicate")
}

func TestHandlerRetryAfterPanic(t *testing.T) {
	r := newReceiver(t, false, hostileNow, nil)
	var calls atomic.Int32
	h := r.Handler(func(context.Context, Message) (*Reply, error) {
		if calls.Add(1) == 1 {
			panic("bug")
		}
		return nil, nil
	})
	q, body := textPush(t, r, ".json", ModePlaintext)
	assert.Panics(t, func() { serve(h, http.MethodPost, q, body) })
	assert.Equal(t, http.StatusOK, serve(h, http.MethodPost, q, body).Code)
	assert.Equal(t, int32(2), calls.Load())
}

// signalingDedup tells when an Acquire starts.
type signalingDedup struct {
	Deduper
	acquiring chan struct{}
}

func (d *signalingDedup) Acquire(ctx context.Context, key, owner string, keepUntil time.Time) ([]byte, bool, error) {
	d.acquiring <- struct{}{}
	return d.Deduper.Acquire(ctx, key, owner, keepUntil)
}

// TestHandlerRetryWhileRunning sends a retry while the first attempt is
// still in the HandlerFunc: the retry waits for it, and handles the push
// itself if the first attempt fails.
func TestHandlerRetryWhileRunning(t *testing.T) {
	for _, firstFails := range []bool{true, false} {
		t.Run("first fails "+strconv.FormatBool(firstFails), func(t *testing.T) {
			d := &signalingDedup{Deduper: &MemoryDedup{}, acquiring: make(chan struct{}, 2)}
			r := newReceiver(t, false, hostileNow, func(c *Config) { c.Dedup = d })
			started, proceed := make(chan struct{}), make(chan struct{})
			var calls atomic.Int32
			h := r.Handler(func(context.Context, Message) (*Reply, error) {
				if calls.Add(1) == 1 {
					close(started)
					<-proceed
					if firstFails {
						return nil, errors.New("first attempt fails")
					}
				}
				return nil, nil
			})
			q, body := textPush(t, r, ".xml", ModePlaintext)

			first := make(chan int)
			go func() { first <- serve(h, http.MethodPost, q, body).Code }()
			<-d.acquiring
			<-started
			second := make(chan *httptest.ResponseRecorder)
			go func() { second <- serve(h, http.MethodPost, q, body) }()
			<-d.acquiring // the retry is at the dedup store, which holds it
			close(proceed)

			w := <-second
			if firstFails {
				assert.Equal(t, http.StatusInternalServerError, <-first)
				assert.Equal(t, int32(2), calls.Load(), "the retry handled the push")
			} else {
				assert.Equal(t, http.StatusOK, <-first)
				assert.Equal(t, int32(1), calls.Load(), "the retry did not")
			}
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "success", w.Body.String())
		})
	}
}

func TestHandlerRetryGivesUpWaiting(t *testing.T) {
	r := newReceiver(t, false, hostileNow, nil)
	started, proceed := make(chan struct{}), make(chan struct{})
	h := r.Handler(func(context.Context, Message) (*Reply, error) {
		close(started)
		<-proceed
		return nil, nil
	})
	q, body := textPush(t, r, ".xml", ModePlaintext)
	first := make(chan int)
	go func() { first <- serve(h, http.MethodPost, q, body).Code }()
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req := httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), bytes.NewReader(body)).WithContext(ctx)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)

	close(proceed)
	assert.Equal(t, http.StatusOK, <-first)
}

func TestHandlerConcurrentDuplicates(t *testing.T) {
	r := newReceiver(t, true, hostileNow, nil)
	var calls atomic.Int32
	h := r.Handler(func(context.Context, Message) (*Reply, error) {
		calls.Add(1)
		time.Sleep(10 * time.Millisecond) // let the duplicates pile up
		return nil, nil
	})
	q, body := textPush(t, r, ".json", ModeSafe)
	const n = 32
	codes := make([]int, n)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			w := serve(h, http.MethodPost, q, body)
			codes[i], bodies[i] = w.Code, w.Body.String()
		}(i)
	}
	wg.Wait()
	assert.Equal(t, int32(1), calls.Load())
	for i := range codes {
		assert.Equal(t, http.StatusOK, codes[i])
		assert.Equal(t, "success", bodies[i])
	}
}

func TestHandlerDedupDisabled(t *testing.T) {
	r := newReceiver(t, false, hostileNow, func(c *Config) { c.DisableDedup = true })
	var c counter
	h := r.Handler(c.handle)
	q, body := textPush(t, r, ".xml", ModePlaintext)
	for i := 0; i < 3; i++ {
		assert.Equal(t, http.StatusOK, serve(h, http.MethodPost, q, body).Code)
	}
	assert.Equal(t, int32(3), c.calls.Load())
}

// failingDedup is a shared store that is down for some of its calls.
type failingDedup struct{ acquireErr, completeErr, releaseErr error }

func (d failingDedup) Acquire(context.Context, string, string, time.Time) ([]byte, bool, error) {
	return nil, false, d.acquireErr
}
func (d failingDedup) Extend(context.Context, []Claim) ([]Claim, error) { return nil, nil }
func (d failingDedup) Complete(context.Context, string, string, []byte, time.Time) error {
	return d.completeErr
}
func (d failingDedup) Release(context.Context, string, string) error { return d.releaseErr }

// TestHandlerDedupStoreErrors: with the store down, a push is still handled
// (a duplicate is better than a lost message), and the failure is logged.
func TestHandlerDedupStoreErrors(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	q, body := textPush(t, newReceiver(t, false, hostileNow, nil), ".xml", ModePlaintext)

	for _, tc := range []struct {
		name string
		d    failingDedup
		fail bool
		log  string
	}{
		{"acquire", failingDedup{acquireErr: errors.New("redis down")}, false, "handling the push without deduplication: redis down"},
		{"complete", failingDedup{completeErr: errors.New("redis down")}, false, "recording the answer: redis down"},
		{"release", failingDedup{releaseErr: errors.New("redis down")}, true, "releasing a claim: redis down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			r := newReceiver(t, false, hostileNow, func(c *Config) { c.Dedup, c.Logger = tc.d, logger })
			c := counter{}
			if tc.fail {
				c.err = errors.New("fn fails")
			}
			w := serve(r.Handler(c.handle), http.MethodPost, q, body)
			if tc.fail {
				assert.Equal(t, http.StatusInternalServerError, w.Code)
			} else {
				assert.Equal(t, http.StatusOK, w.Code)
				assert.Equal(t, "success", w.Body.String())
			}
			assert.Equal(t, int32(1), c.calls.Load())
			assert.Contains(t, logs.String(), tc.log)
		})
	}
}

func TestHandlerLogs(t *testing.T) {
	var logs bytes.Buffer
	r := newReceiver(t, true, hostileNow, func(c *Config) { c.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	h := r.Handler(func(context.Context, Message) (*Reply, error) { return nil, nil })

	q, body := textPush(t, r, ".json", ModeSafe)
	assert.Equal(t, http.StatusOK, serve(h, http.MethodPost, q, body).Code)
	assert.Empty(t, logs.String(), "nothing is logged for a push handled")

	q.Set("msg_signature", "0000000000000000000000000000000000000000")
	assert.Equal(t, http.StatusUnauthorized, serve(h, http.MethodPost, q, body).Code)
	var line struct {
		Level, Msg, Method, Path, Err, Cause string
		Status                               int
	}
	require.NoError(t, json.Unmarshal(logs.Bytes(), &line))
	assert.Equal(t, "WARN", line.Level)
	assert.Equal(t, "csmsg: push not handled", line.Msg)
	assert.Equal(t, http.StatusUnauthorized, line.Status)
	assert.Equal(t, "csmsg: invalid signature: msg_signature does not match", line.Err)
	assert.Equal(t, "the signature does not match: check that Config.Token is the Token of the message-push settings", line.Cause)
	assertNoSecrets(t, line.Err, body)
	assertNoSecrets(t, line.Cause, body)
	assert.NotContains(t, logs.String(), vecKey)
	assert.NotContains(t, logs.String(), string(body))

	// Without a Logger nothing is printed anywhere; the default logger is untouched.
	quiet := newReceiver(t, false, hostileNow, nil)
	var global bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&global, nil)))
	serve(quiet.Handler(nil), http.MethodPost, url.Values{}, nil)
	assert.Empty(t, global.String())
}

// TestHandlerRetryGetsTheAnswer: fn is slow and returns Transfer; WeChat's
// retries, one while fn runs and one after, get the Transfer too, each
// encrypted for its own nonce, and fn runs once.
func TestHandlerRetryGetsTheAnswer(t *testing.T) {
	for _, mode := range []Mode{ModePlaintext, ModeSafe} {
		t.Run(mode.String(), func(t *testing.T) {
			r := newReceiver(t, mode == ModeSafe, hostileNow, nil)
			started, proceed := make(chan struct{}), make(chan struct{})
			var calls atomic.Int32
			h := r.Handler(func(_ context.Context, m Message) (*Reply, error) {
				calls.Add(1)
				close(started)
				<-proceed // "6 seconds"
				return Transfer(m), nil
			})
			q1, body1 := textPush(t, r, ".xml", mode)
			first := make(chan *httptest.ResponseRecorder)
			go func() { first <- serve(h, http.MethodPost, q1, body1) }()
			<-started

			q2, body2 := textPush(t, r, ".xml", mode) // the retry, signed anew
			second := make(chan *httptest.ResponseRecorder)
			go func() { second <- serve(h, http.MethodPost, q2, body2) }()
			close(proceed)

			q3, body3 := textPush(t, r, ".xml", mode)
			for _, a := range []struct {
				q url.Values
				w *httptest.ResponseRecorder
			}{{q1, <-first}, {q2, <-second}, {q3, serve(h, http.MethodPost, q3, body3)}} {
				require.Equal(t, http.StatusOK, a.w.Code)
				checkTransfer(t, r, a.q, ".xml", mode, transferXML, a.w.Body.Bytes())
			}
			assert.Equal(t, int32(1), calls.Load())
		})
	}
}

// TestHandlerKeepsTheClaimAlive: while fn runs, the Handler extends its
// claim, so a claim outlives a slow fn however short the store's lease.
func TestHandlerKeepsTheClaimAlive(t *testing.T) {
	defer func(d time.Duration) { dedupRenewInterval = d }(dedupRenewInterval)
	dedupRenewInterval = 5 * time.Millisecond
	d := &countingDedup{Deduper: &MemoryDedup{}}
	r := newReceiver(t, false, hostileNow, func(c *Config) { c.Dedup = d })
	h := r.Handler(func(context.Context, Message) (*Reply, error) {
		// fn lasts until the renewer has extended the claim at least once.
		assert.Eventually(t, func() bool { return d.extends.Load() > 0 },
			10*time.Second, time.Millisecond, "no Extend while fn ran")
		return nil, nil
	})
	q, body := textPush(t, r, ".xml", ModePlaintext)
	assert.Equal(t, http.StatusOK, serve(h, http.MethodPost, q, body).Code)
	assert.Positive(t, d.extends.Load())
}

// countingDedup counts Extend calls.
type countingDedup struct {
	Deduper
	extends atomic.Int32
}

func (d *countingDedup) Extend(ctx context.Context, claims []Claim) ([]Claim, error) {
	d.extends.Add(1)
	return d.Deduper.Extend(ctx, claims)
}

// unreadable is a request body that must not be read.
type unreadable struct{ t *testing.T }

func (u unreadable) Read([]byte) (int, error) {
	u.t.Error("the body of an unsigned request was read")
	return 0, io.EOF
}

// TestHandlerPlaintextChecksTheQueryFirst: in plaintext mode a bad
// signature is answered 401 before the body is read, and the connection
// is closed rather than drained.
func TestHandlerPlaintextChecksTheQueryFirst(t *testing.T) {
	r := newReceiver(t, false, hostileNow, nil)
	q := plainQuery(hostileNow)
	q.Set("signature", strings.Repeat("0", 40))
	req := httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), unreadable{t})
	req.ContentLength = 1 << 20
	w := httptest.NewRecorder()
	r.Handler(nil).ServeHTTP(w, req)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, "close", w.Header().Get("Connection"))

	req = httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), unreadable{t})
	_, err := r.ParseRequest(req)
	require.ErrorIs(t, err, ErrInvalidSignature)
}

// TestUnsignedFloodIsCheap: before the signature is verified, a hostile
// envelope costs the reading of its bounded body and one scanner pass,
// never the reference decoders' work.
func TestUnsignedFloodIsCheap(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation figures differ under -race")
	}
	flood := map[string]string{
		"XML": "<!--c--><xml><Encrypt>AAAA</Encrypt>" + strings.Repeat("<a/>", 262000) + "</xml>",
		"JSON": `{"Encrypt":"AAAA","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `,"y":"` +
			strings.Repeat("\\u00e9", 170000) + `"}`,
	}
	r := newReceiver(t, true, hostileNow, func(c *Config) { c.MaxBodyBytes = 2 << 20 })
	h := r.Handler(nil)
	for name, body := range flood {
		t.Run(name, func(t *testing.T) {
			q, _ := safeEnvelope("AAAA", hostileNow)
			q.Set("msg_signature", strings.Repeat("0", 40))
			send := func() int {
				req := httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), strings.NewReader(body))
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				return w.Code
			}
			assert.Contains(t, []int{http.StatusBadRequest, http.StatusUnauthorized}, send())
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			const n = 5
			for i := 0; i < n; i++ {
				send()
			}
			runtime.ReadMemStats(&after)
			perRequest := (after.TotalAlloc - before.TotalAlloc) / n
			assert.Less(t, perRequest, uint64(3*len(body)), "bytes allocated for a %d-byte body", len(body))
		})
	}
}

// hangingDedup is a store whose Extend, Complete and Release hang until
// their context ends.
type hangingDedup struct{ MemoryDedup }

func (d *hangingDedup) Extend(ctx context.Context, _ []Claim) ([]Claim, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (d *hangingDedup) Complete(ctx context.Context, _, _ string, _ []byte, _ time.Time) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestHandlerHangingStore: a store that hangs delays the answer by a
// bounded time at most, and is logged.
func TestHandlerHangingStore(t *testing.T) {
	defer func(d, c time.Duration) { dedupRenewInterval, dedupCallTimeout = d, c }(dedupRenewInterval, dedupCallTimeout)
	dedupRenewInterval, dedupCallTimeout = 10*time.Millisecond, 20*time.Millisecond
	var logs lockedBuffer
	r := newReceiver(t, false, hostileNow, func(c *Config) {
		c.Dedup, c.Logger = &hangingDedup{}, slog.New(slog.NewJSONHandler(&logs, nil))
	})
	logged := func(s string) func() bool {
		return func() bool { return strings.Contains(logs.String(), s) }
	}
	h := r.Handler(func(context.Context, Message) (*Reply, error) {
		// fn lasts until the renewer's hanging Extend has timed out and
		// been logged.
		assert.Eventually(t, logged("extending the claim"), 10*time.Second, time.Millisecond, logs.String())
		return nil, nil
	})
	q, body := textPush(t, r, ".xml", ModePlaintext)
	w := serve(h, http.MethodPost, q, body)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, logs.String(), "extending the claim")
	assert.Eventually(t, logged("recording the answer"), 10*time.Second, time.Millisecond, logs.String())
}

// lockedBuffer is a bytes.Buffer safe for a logger's goroutines and the
// test's reads at once.
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

// signAt signs body for r's Config in mode, timestamped at the Unix second
// ts (WeChat's clock).
func signAt(t *testing.T, r *Receiver, body []byte, mode Mode, ts int64) (url.Values, []byte) {
	t.Helper()
	cfg, ok := receiverConfigs.Load(r)
	require.True(t, ok)
	c := cfg.(Config)
	c.Now = at(ts)
	q, push, err := SignForTest(c, int(mode), body)
	require.NoError(t, err)
	return q, push
}

// TestHandlerReplayWindow: a captured push replayed at any moment its
// signature is still accepted, whatever the skew between WeChat's clock
// and the receiver's that Tolerance allows, is answered from the store
// and never handled again; the store forgets it RetryWindow after the
// last such moment. A retry signed later extends the window to its own.
func TestHandlerReplayWindow(t *testing.T) {
	const tol = DefaultTolerance
	sec := func(d time.Duration) int64 { return int64(d / time.Second) }
	for _, mode := range []Mode{ModePlaintext, ModeSafe} {
		for _, skew := range []time.Duration{-tol, -time.Minute, 0, time.Minute, tol} { // WeChat's clock minus the receiver's
			t.Run(fmt.Sprintf("%v/skew %v", mode, skew), func(t *testing.T) {
				clock := &fakeClock{now: time.Unix(hostileNow, 0)}
				store := &MemoryDedup{Now: clock.Now}
				r := newReceiver(t, mode == ModeSafe, hostileNow, func(c *Config) { c.Now, c.Dedup = clock.Now, store })
				var c counter
				h := r.Handler(c.handle)
				body, err := os.ReadFile("testdata/text.json")
				require.NoError(t, err)
				ts := hostileNow + sec(skew)
				q, push := signAt(t, r, body, mode, ts)
				replayAt := func(unix int64) int {
					require.False(t, time.Unix(unix, 0).Before(clock.Now()), "time runs forward")
					clock.Advance(time.Unix(unix, 0).Sub(clock.Now()))
					return serve(h, http.MethodPost, q, push).Code
				}

				require.Equal(t, http.StatusOK, replayAt(hostileNow), "the push")
				for _, moment := range []int64{hostileNow, max(hostileNow, ts), max(hostileNow, ts+sec(tol)-1), ts + sec(tol)} {
					assert.Equal(t, http.StatusOK, replayAt(moment), "a replay at %+ds", moment-ts)
				}
				assert.Equal(t, int32(1), c.calls.Load(), "handled once")
				assert.Equal(t, http.StatusUnauthorized, replayAt(ts+sec(tol)+1), "the signature expired")

				// The store keeps it RetryWindow past the last accepted second.
				key := DedupKey(mustParse(t, body))
				last := ts + sec(tol+RetryWindow)
				clock.Advance(time.Unix(last-1, 0).Sub(clock.Now()))
				assert.True(t, kept(t, store, key), "kept until RetryWindow after the window")
				clock.Advance(time.Unix(max(last, hostileNow+sec(DefaultDedupTTL)), 0).Sub(clock.Now()))
				assert.False(t, kept(t, store, key), "forgotten after it")
			})
		}
	}

	t.Run("a retry signed later extends the window", func(t *testing.T) {
		clock := &fakeClock{now: time.Unix(hostileNow, 0)}
		r := newReceiver(t, false, hostileNow, func(c *Config) { c.Now = clock.Now })
		var c counter
		h := r.Handler(c.handle)
		body, err := os.ReadFile("testdata/text.xml")
		require.NoError(t, err)
		q1, push1 := signAt(t, r, body, ModePlaintext, hostileNow)
		require.Equal(t, http.StatusOK, serve(h, http.MethodPost, q1, push1).Code)
		later := hostileNow + sec(2*RetryWindow)
		clock.Advance(2 * RetryWindow)
		q2, push2 := signAt(t, r, body, ModePlaintext, later)
		require.Equal(t, http.StatusOK, serve(h, http.MethodPost, q2, push2).Code)
		clock.Advance(tol) // past the first push's window, at the last second of the retry's
		assert.Equal(t, http.StatusUnauthorized, serve(h, http.MethodPost, q1, push1).Code)
		assert.Equal(t, http.StatusOK, serve(h, http.MethodPost, q2, push2).Code)
		assert.Equal(t, int32(1), c.calls.Load())
	})
}

// kept reports whether d holds key as handled, releasing the claim a
// probe of a free key takes.
func kept(t *testing.T, d Deduper, key string) bool {
	t.Helper()
	_, done, err := d.Acquire(context.Background(), key, "probe", never)
	require.NoError(t, err)
	if !done {
		require.NoError(t, d.Release(context.Background(), key, "probe"))
	}
	return done
}

// mustParse parses body.
func mustParse(t *testing.T, body []byte) Message {
	t.Helper()
	msg, err := Parse(body)
	require.NoError(t, err)
	return msg
}

// TestHandlerNoPaddingOracle: once the signature passes, every failure to
// decrypt or parse the payload (base64, length, padding, the length
// field, the appid, a message that does not parse) is answered alike, so
// that whoever has the Token learns nothing from which check failed.
func TestHandlerNoPaddingOracle(t *testing.T) {
	r := newReceiver(t, true, hostileNow, nil)
	h := r.Handler(nil)
	msg := `{"ToUserName":"gh","FromUserName":"o1","CreateTime":1,"MsgType":"text","Content":"hi","MsgId":1}`
	seal := func(p []byte) string { return sealRaw(t, vecKey, p) }
	good := func(m, appID string) []byte {
		p := payload(uint32(len(m)), m, appID, nil)
		return append(p, padTo32(len(p))...)
	}
	badPad := good(msg, vecAppID)
	badPad[len(badPad)-1] = 0
	overPad := good(msg, vecAppID)
	overPad[len(overPad)-1] = 33
	longLen := payload(1<<20, msg, vecAppID, nil)
	longLen = append(longLen, padTo32(len(longLen))...)
	cases := map[string]string{
		"not base64":               "!!!!",
		"not whole blocks":         "AAAAAAAAAAAAAAAAAAAAAA==",
		"padding 0":                seal(badPad),
		"padding over a block":     seal(overPad),
		"length past the end":      seal(longLen),
		"another appid":            seal(good(msg, "wx0000000000000000")),
		"a message that is no XML": seal(good("<xml><a>", vecAppID)),
		"a message of no format":   seal(good("hello", vecAppID)),
		"an encrypted message":     seal(good(`{"Encrypt":"AAAA"}`, vecAppID)),
	}
	var first *httptest.ResponseRecorder
	for name, encrypt := range cases {
		q, body := safeEnvelope(encrypt, hostileNow)
		w := serve(h, http.MethodPost, q, body)
		if first == nil {
			first = w
			assert.Equal(t, http.StatusBadRequest, w.Code, name)
			continue
		}
		assert.Equal(t, first.Code, w.Code, name)
		assert.Equal(t, first.Body.String(), w.Body.String(), name)
		assert.Equal(t, first.Header(), w.Header(), name)
	}
	q, body := safeEnvelope(seal(good(msg, vecAppID)), hostileNow)
	assert.Equal(t, http.StatusOK, serve(h, http.MethodPost, q, body).Code, "the same push, whole, is handled")
}

// batchingDedup records the size of each Extend batch.
type batchingDedup struct {
	Deduper
	mu      sync.Mutex
	batches []int
}

func (d *batchingDedup) Extend(ctx context.Context, claims []Claim) ([]Claim, error) {
	d.mu.Lock()
	d.batches = append(d.batches, len(claims))
	d.mu.Unlock()
	return d.Deduper.Extend(ctx, claims)
}

// TestHandlerRenewsInBatches: the claims of HandlerFuncs running at once
// are extended together, by one loop that ends once none is held.
func TestHandlerRenewsInBatches(t *testing.T) {
	defer func(d time.Duration) { dedupRenewInterval = d }(dedupRenewInterval)
	dedupRenewInterval = 20 * time.Millisecond
	d := &batchingDedup{Deduper: &MemoryDedup{}}
	r := newReceiver(t, false, hostileNow, func(c *Config) { c.Dedup = d })
	const n = 8
	var running sync.WaitGroup
	running.Add(n)
	proceed := make(chan struct{})
	h := r.Handler(func(context.Context, Message) (*Reply, error) {
		running.Done()
		<-proceed
		return nil, nil
	})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		body := []byte(`{"ToUserName":"gh","FromUserName":"o1","CreateTime":1,"MsgType":"text","Content":"hi","MsgId":` + strconv.Itoa(i+1) + `}`)
		q, push, err := signPush(r, body, ModePlaintext)
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.Equal(t, http.StatusOK, serve(h, http.MethodPost, q, push).Code)
		}()
	}
	running.Wait() // all eight hold their claims until proceed
	d.mu.Lock()
	seen := len(d.batches)
	d.mu.Unlock()
	assert.Eventually(t, func() bool { // a tick's batch collected before running.Wait may come first
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, b := range d.batches[seen:] {
			if b == n {
				return true
			}
		}
		return false
	}, 5*time.Second, time.Millisecond, "all eight in one batch")
	close(proceed)
	wg.Wait()

	stopped := func() bool {
		r.renew.mu.Lock()
		defer r.renew.mu.Unlock()
		return !r.renew.running
	}
	assert.Eventually(t, stopped, 5*time.Second, time.Millisecond, "the loop ends with no claim held")
}

type ctxKey struct{}

// TestSettleCtx: the context of a Complete or Release has the request's
// values, not its cancellation, and a deadline that ends Done and Err.
func TestSettleCtx(t *testing.T) {
	defer func(c time.Duration) { dedupCallTimeout = c }(dedupCallTimeout)
	// A deadline no stall of this machine reaches, for what must hold
	// before it; a short one below, for what must follow it.
	dedupCallTimeout = time.Minute
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
	cancel()
	before := time.Now()
	c := settleCtx(parent)
	after := time.Now()
	defer c.stop()
	assert.Equal(t, "v", c.Value(ctxKey{}))
	assert.NoError(t, c.Err(), "not cancelled with the request")
	deadline, ok := c.Deadline()
	assert.True(t, ok)
	assert.False(t, deadline.Before(before.Add(dedupCallTimeout)), "deadline %v, made after %v", deadline, before)
	assert.False(t, deadline.After(after.Add(dedupCallTimeout)), "deadline %v, made before %v", deadline, after)
	select {
	case <-c.Done():
		t.Fatal("done before the deadline")
	default:
	}

	dedupCallTimeout = 30 * time.Millisecond
	c1 := settleCtx(parent)
	defer c1.stop()
	derived, stop := context.WithCancel(c1)
	defer stop()
	select {
	case <-derived.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the deadline did not end Done")
	}
	assert.ErrorIs(t, c1.Err(), context.DeadlineExceeded)
	assert.ErrorIs(t, derived.Err(), context.DeadlineExceeded)

	// Without a waiter, Err still sees the deadline pass.
	c2 := settleCtx(context.Background())
	defer c2.stop()
	time.Sleep(dedupCallTimeout + 5*time.Millisecond)
	assert.ErrorIs(t, c2.Err(), context.DeadlineExceeded)
}
