package csmsg

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chunked hides a reader's type, so that net/http sees a body of unknown
// length.
type chunked struct{ io.Reader }

// bodyRequest returns a POST of body: with its Content-Length, declared
// as declared (-1: unknown), and read in reads of at most step bytes.
func bodyRequest(body []byte, declared int64, step int) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/wechat", nil)
	req.Body = nopCloser{chunked{&stepReader{b: body, step: step}}}
	req.ContentLength = declared
	return req
}

// resetBody makes req, of bodyRequest, serve body again, without
// allocating.
func resetBody(req *http.Request, body []byte) {
	req.Body.(nopCloser).Reader.(chunked).Reader.(*stepReader).b = body
}

// nopCloser is io.NopCloser's, with a type to reach its reader.
type nopCloser struct{ io.Reader }

func (nopCloser) Close() error { return nil }

// stepReader serves b at most step bytes a read.
type stepReader struct {
	b    []byte
	step int
}

func (s *stepReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), s.step)], s.b)
	s.b = s.b[n:]
	return n, nil
}

// allocated returns the bytes and allocations f makes, on average over
// runs.
func allocated(runs int, f func()) (bytesPer, allocsPer float64) {
	f() // warm up
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < runs; i++ {
		f()
	}
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(runs), float64(after.Mallocs-before.Mallocs) / float64(runs)
}

// TestReadBodyAllocates: a body of n bytes costs at most about 2n + 8 KiB
// in all, chunked or not and however it arrives, and a body with its
// Content-Length one buffer of its size.
func TestReadBodyAllocates(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation figures differ under -race")
	}
	r := newReceiver(t, false, hostileNow, nil)
	for _, n := range []int{0, 300, 4 << 10, 8 << 10, 100 << 10, 1 << 20} {
		body := bytes.Repeat([]byte("x"), n)
		for _, tc := range []struct {
			name     string
			declared int64
			step     int
		}{
			{"declared", int64(n), 32 << 10},
			{"chunked", -1, 32 << 10},
			{"chunked, a byte at a time", -1, 1},
			{"declared 1 MiB", 1 << 20, 4 << 10},
		} {
			if tc.step == 1 && n > 100<<10 {
				continue
			}
			t.Run(strconv.Itoa(n)+" "+tc.name, func(t *testing.T) {
				var got []byte
				req := bodyRequest(nil, tc.declared, tc.step)
				read := func() {
					var err error
					resetBody(req, body)
					got, err = r.readBody(req)
					if tc.declared != 1<<20 || n == 1<<20 {
						require.NoError(t, err)
					}
				}
				allocs := testing.AllocsPerRun(5, read)
				if tc.declared == int64(n) || tc.declared == 1<<20 {
					assert.Equal(t, bytes.Clone(body), got)
				}
				total, _ := allocated(5, read)
				const request = 0
				t.Logf("%d allocations, %.0f bytes", int(allocs), total)
				assert.LessOrEqual(t, total, float64(2*n+n/8+8<<10+request), "bytes in all")
				if tc.declared == int64(n) && n < maxFirstChunk {
					assert.Equal(t, float64(1), allocs, "one buffer")
				}
			})
		}
	}
}

// stallingReader serves b, then signals stalled and blocks until resume
// is closed, then ends.
type stallingReader struct {
	b       []byte
	stalled chan struct{}
	resume  chan struct{}
}

func (s *stallingReader) Read(p []byte) (int, error) {
	if len(s.b) > 0 {
		n := copy(p, s.b)
		s.b = s.b[n:]
		return n, nil
	}
	if s.stalled != nil {
		close(s.stalled)
		s.stalled = nil
		<-s.resume
	}
	return 0, io.EOF
}

// TestReadBodyStalled: a connection that declares a large body and stalls
// holds at most max(8 KiB, about twice what it sent).
func TestReadBodyStalled(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation figures differ under -race")
	}
	r := newReceiver(t, false, hostileNow, nil)
	for _, tc := range []struct {
		sent     int
		declared int64
		most     uint64
	}{
		{10, 1 << 20, 8<<10 + 1<<10},
		{10, -1, 8<<10 + 1<<10},
		{512 << 10, 1 << 20, 2*512<<10 + 8<<10 + 1<<10},
		{512 << 10, -1, 2*512<<10 + 8<<10 + 1<<10},
	} {
		t.Run(strconv.Itoa(tc.sent)+"/"+strconv.FormatInt(tc.declared, 10), func(t *testing.T) {
			s := &stallingReader{b: bytes.Repeat([]byte("x"), tc.sent), stalled: make(chan struct{}), resume: make(chan struct{})}
			req := httptest.NewRequest(http.MethodPost, "/wechat", nil)
			req.Body, req.ContentLength = io.NopCloser(chunked{s}), tc.declared
			var before, during runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			done := make(chan error)
			stalled := s.stalled
			go func() { _, err := r.readBody(req); done <- err }()
			<-stalled
			runtime.ReadMemStats(&during)
			held := during.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes allocated while stalled after %d", held, tc.sent)
			assert.LessOrEqual(t, held, tc.most)
			close(s.resume)
			require.NoError(t, <-done)
		})
	}
}

// TestReadBodyLimit: the limit is checked as the bytes arrive, declared or
// not.
func TestReadBodyLimit(t *testing.T) {
	r := newReceiver(t, false, hostileNow, func(c *Config) { c.MaxBodyBytes = 100 << 10 })
	for _, n := range []int{100 << 10, 100<<10 + 1, 1 << 20} {
		for _, declared := range []int64{-1, 10} {
			body := bytes.Repeat([]byte("x"), n)
			got, err := r.readBody(bodyRequest(body, declared, 4<<10))
			if n <= 100<<10 {
				require.NoError(t, err)
				assert.Equal(t, body, got)
				continue
			}
			require.ErrorIs(t, err, ErrBodyTooLarge)
			assert.EqualError(t, err, "csmsg: body too large: more than 102400 bytes")
		}
	}
}
