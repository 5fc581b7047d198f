package csmsgredis_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
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

// rawRequest returns the head of a POST of p to path with a Content-Length
// of length.
func rawRequest(p *csmsgtest.Push, length int) string {
	return fmt.Sprintf("POST /wechat?%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n",
		p.Query.Encode(), length)
}

// settle waits up to 2 seconds for the goroutines to fall back to at most
// limit and returns how many there are.
func settle(limit int) int {
	deadline := time.Now().Add(2 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= limit || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClientDisconnectsMidBody: a hundred clients that send half a body and
// hang up, in plaintext and safe mode, cost the server nothing that lasts:
// fn never runs, the server goes on answering, and no goroutine is left.
// Not parallel, so that the goroutine count is this test's own.
func TestClientDisconnectsMidBody(t *testing.T) {
	for _, mode := range []csmsgtest.Mode{csmsgtest.ModePlaintext, csmsgtest.ModeSafe} {
		t.Run(mode.String(), func(t *testing.T) {
			h := &transferring{}
			inst := newInstance(t, cfgOf(mode), nil, nil, h.handle)
			addr := inst.srv.Listener.Addr().String()
			before := runtime.NumGoroutine()

			for i := 0; i < 100; i++ {
				p, err := csmsgtest.SignMessage(cfgOf(mode), mode, textMsg(), csmsg.FormatXML)
				require.NoError(t, err)
				conn, err := net.Dial("tcp", addr)
				require.NoError(t, err)
				_, err = io.WriteString(conn, rawRequest(p, len(p.Body)))
				require.NoError(t, err)
				_, err = conn.Write(p.Body[:len(p.Body)/2])
				require.NoError(t, err)
				conn.Close()
			}
			after := settle(before)
			t.Logf("goroutines: %d before, %d after", before, after)
			assert.LessOrEqual(t, after, before+2, "goroutines: %d before, %d after", before, after)
			assert.Zero(t, h.calls.Load(), "no half body reaches fn")

			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			p, err := csmsgtest.SignMessage(cfgOf(mode), mode, textMsg(), csmsg.FormatXML)
			require.NoError(t, err)
			req, err := p.Request(inst.srv.URL + "/wechat")
			require.NoError(t, err)
			req.RequestURI = ""
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode, "the server survives")
			assert.Equal(t, int64(1), h.calls.Load())
		})
	}
}

// TestTricklingBodyCutOff: a correctly signed push whose body trickles at
// a byte every 100 ms is cut off by the documented ReadTimeout (5 s) and
// never reaches fn. About 5 s, in parallel with the other slow test.
func TestTricklingBodyCutOff(t *testing.T) {
	t.Parallel()
	h := &transferring{}
	inst := newInstance(t, plainCfg, nil, nil, h.handle)
	p, err := csmsgtest.SignMessage(plainCfg, csmsgtest.ModePlaintext, textMsg(), csmsg.FormatXML)
	require.NoError(t, err)
	conn, err := net.Dial("tcp", inst.srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()

	start := time.Now()
	_, err = io.WriteString(conn, rawRequest(p, len(p.Body)))
	require.NoError(t, err)
	go func() {
		for _, b := range p.Body {
			if _, err := conn.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	answer, _ := io.ReadAll(conn) // until the server closes the connection
	cut := time.Since(start)
	t.Logf("cut off after %v with %q", cut.Round(time.Millisecond), firstLine(answer))
	assert.GreaterOrEqual(t, cut, 4900*time.Millisecond)
	assert.Less(t, cut, 7*time.Second, "the connection is closed at the ReadTimeout")
	assert.Less(t, int(cut/(100*time.Millisecond)), len(p.Body), "the body was still arriving")
	assert.Zero(t, h.calls.Load())
}

// firstLine returns the status line of an HTTP answer.
func firstLine(b []byte) string {
	for i, c := range b {
		if c == '\r' || c == '\n' {
			return string(b[:i])
		}
	}
	return string(b)
}

// TestHandlerPanicReleasesClaim: fn panics on a push; net/http recovers and
// drops the connection, the server keeps serving, the claim is released,
// and WeChat's retry is handled. With MemoryDedup and with Redis; not
// parallel, so that the goroutine count is this test's own.
func TestHandlerPanicReleasesClaim(t *testing.T) {
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			var d csmsg.Deduper
			var rs *csmsgredis.Dedup
			var rdb *redis.Client
			if store == "redis" {
				rdb = sharedClient(t)
				rs = newDedup(t, rdb, csmsgredis.DedupOptions{})
				d = rs
			}
			var calls atomic.Int64
			fn := func(_ context.Context, m csmsg.Message) (*csmsg.Reply, error) {
				if calls.Add(1) == 1 {
					panic("a bug in the backend")
				}
				return csmsg.Transfer(m), nil
			}
			inst := newInstance(t, safeCfg, d, nil, fn)
			inst.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the recovered panic's stack
			tr := &http.Transport{}
			c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			before := runtime.NumGoroutine()

			msg := textMsg()
			do := func() attempt {
				p, err := csmsgtest.SignMessage(safeCfg, csmsgtest.ModeSafe, msg, csmsg.FormatXML)
				require.NoError(t, err)
				req, err := p.Request(inst.srv.URL + "/wechat")
				require.NoError(t, err)
				req.RequestURI = ""
				a := attempt{push: p}
				resp, err := c.Do(req)
				if err != nil {
					a.err = err
					return a
				}
				defer resp.Body.Close()
				a.status = resp.StatusCode
				a.body, a.err = io.ReadAll(resp.Body)
				return a
			}
			first := do()
			assert.Error(t, first.err, "net/http drops the connection of a panicking handler")
			if rs != nil {
				n, err := rdb.Exists(ctx, rs.Key(csmsg.DedupKey(msg))).Result()
				require.NoError(t, err)
				assert.Zero(t, n, "the claim was released")
			}
			retry := do()
			assert.Contains(t, plaintext(t, inst.r, csmsgtest.ModeSafe, retry), "transfer_customer_service")
			assert.Equal(t, int64(2), calls.Load())
			last := do()
			assert.Equal(t, plaintext(t, inst.r, csmsgtest.ModeSafe, retry), plaintext(t, inst.r, csmsgtest.ModeSafe, last))
			assert.Equal(t, int64(2), calls.Load(), "the handled push is not handled again")

			tr.CloseIdleConnections()
			after := settle(before)
			t.Logf("goroutines: %d before, %d after", before, after)
			assert.LessOrEqual(t, after, before+2, "goroutines: %d before, %d after", before, after)
		})
	}
}
