package csmsg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDedupKey(t *testing.T) {
	h := Header{ToUserName: "gh", FromUserName: "o1", CreateTime: 1714037059, MsgType: "text"}
	ev := Header{ToUserName: "gh", FromUserName: "o1", CreateTime: 1714037059, MsgType: "event"}
	sum := func(b string) string { return "sum|2:gh|2:o1|" + sha256Hex16([]byte(b)) }
	cases := []struct {
		name string
		msg  Message
		want string
	}{
		{"text by MsgID", &Text{Header: h, MsgID: "6054768590064713728"}, "msg|2:gh|2:o1|6054768590064713728"},
		{"image by MsgID", &Image{Header: Header{FromUserName: "o2", MsgType: "image"}, MsgID: "1"}, "msg|0:|2:o2|1"},
		{"card by MsgID", &MiniProgramPage{Header: Header{MsgType: "miniprogrampage"}, MsgID: "2"}, "msg|0:|0:|2"},
		{"unknown kind by MsgID", &Unknown{Header: Header{ToUserName: "gh", FromUserName: "o1", MsgType: "voice"}, MsgID: "3", Raw: []byte("x")}, "msg|2:gh|2:o1|3"},
		{"message without MsgID", &Text{Header: h, Content: "hi"},
			sum(`{"ToUserName":"gh","FromUserName":"o1","CreateTime":1714037059,"MsgType":"text","Content":"hi"}`)},
		{"enter session", &UserEnterTempSession{Header: ev, Event: EventUserEnterTempSession, SessionFrom: "a"},
			sum(`{"ToUserName":"gh","FromUserName":"o1","CreateTime":1714037059,"MsgType":"event","Event":"user_enter_tempsession","SessionFrom":"a"}`)},
		{"unknown event by its body", &Unknown{Header: ev, Event: "debug_demo", Raw: []byte(`{"a":1}`)}, sum(`{"a":1}`)},
		{"nil", nil, ""},
		{"nil *Text", (*Text)(nil), ""},
		{"nil *Unknown", (*Unknown)(nil), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, DedupKey(tc.msg))
		})
	}
	// A "|" in a name cannot make two keys meet.
	assert.NotEqual(t, DedupKey(&Text{Header: Header{ToUserName: "a|b", FromUserName: "c"}, MsgID: "1"}),
		DedupKey(&Text{Header: Header{ToUserName: "a", FromUserName: "b|c"}, MsgID: "1"}))
	// The same MsgID from two users is two pushes.
	assert.NotEqual(t, DedupKey(&Text{Header: Header{FromUserName: "a"}, MsgID: "1"}), DedupKey(&Text{Header: Header{FromUserName: "b"}, MsgID: "1"}))
}

// TestDedupKeyTellsPushesApart parses pushes that were once merged: any
// two that differ in a field have different keys.
func TestDedupKeyTellsPushesApart(t *testing.T) {
	pairs := []struct{ name, a, b string }{
		{"media checks in the same second",
			`{"ToUserName":"gh","FromUserName":"o1","CreateTime":1714037059,"MsgType":"event","Event":"wxa_media_check","trace_id":"t1","result":{"suggest":"pass"}}`,
			`{"ToUserName":"gh","FromUserName":"o1","CreateTime":1714037059,"MsgType":"event","Event":"wxa_media_check","trace_id":"t2","result":{"suggest":"pass"}}`},
		{"voice messages in the same second",
			`<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1714037059</CreateTime><MsgType>voice</MsgType><MsgId>1</MsgId></xml>`,
			`<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1714037059</CreateTime><MsgType>voice</MsgType><MsgId>2</MsgId></xml>`},
		{"entering the chat from two buttons in the same second",
			`{"ToUserName":"gh","FromUserName":"o1","CreateTime":1714037059,"MsgType":"event","Event":"user_enter_tempsession","SessionFrom":"a"}`,
			`{"ToUserName":"gh","FromUserName":"o1","CreateTime":1714037059,"MsgType":"event","Event":"user_enter_tempsession","SessionFrom":"b"}`},
	}
	for _, p := range pairs {
		a, err := Parse([]byte(p.a))
		require.NoError(t, err)
		b, err := Parse([]byte(p.b))
		require.NoError(t, err)
		assert.NotEqual(t, DedupKey(a), DedupKey(b), p.name)
	}

	// A retry, re-encrypted in safe mode with another random prefix and
	// nonce, has the push's key.
	r := newReceiver(t, true, hostileNow, nil)
	for _, body := range []string{pairs[0].a, pairs[1].a, pairs[2].a} {
		var keys []string
		for i := 0; i < 2; i++ {
			q, signed, err := signPush(r, []byte(body), ModeSafe)
			require.NoError(t, err)
			msg, err := r.Parse(q, signed)
			require.NoError(t, err)
			keys = append(keys, DedupKey(msg))
		}
		assert.Equal(t, keys[0], keys[1])
	}
}

// never is the zero keep-until: the store's TTL alone.
var never time.Time

// extend extends claims in d and returns those lost.
func extend(t *testing.T, d Deduper, claims ...Claim) []Claim {
	t.Helper()
	lost, err := d.Extend(context.Background(), claims)
	require.NoError(t, err)
	return lost
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestMemoryDedup(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Unix(1714112445, 0)}
	d := &MemoryDedup{TTL: time.Minute, Now: clock.Now}

	// A first attempt claims the key; completing it keeps the answer.
	answer, done, err := d.Acquire(ctx, "a", "o1", never)
	require.NoError(t, err)
	assert.False(t, done)
	assert.Nil(t, answer)
	require.NoError(t, d.Complete(ctx, "a", "o1", []byte("<xml>transfer</xml>"), never))
	answer, done, err = d.Acquire(ctx, "a", "o2", never)
	require.NoError(t, err)
	assert.True(t, done, "handled")
	assert.Equal(t, "<xml>transfer</xml>", string(answer))

	// "success" is remembered as a nil answer.
	_, _, err = d.Acquire(ctx, "s", "o1", never)
	require.NoError(t, err)
	require.NoError(t, d.Complete(ctx, "s", "o1", nil, never))
	answer, done, err = d.Acquire(ctx, "s", "o2", never)
	require.NoError(t, err)
	assert.True(t, done)
	assert.Nil(t, answer)

	// A released key is claimed again.
	_, _, err = d.Acquire(ctx, "b", "o1", never)
	require.NoError(t, err)
	require.NoError(t, d.Release(ctx, "b", "o1"))
	_, done, err = d.Acquire(ctx, "b", "o2", never)
	require.NoError(t, err)
	assert.False(t, done, "freed after a failure")

	// Only the owner extends, completes or releases a claim.
	require.ErrorIs(t, d.Complete(ctx, "b", "o1", nil, never), ErrNotOwner)
	require.ErrorIs(t, d.Release(ctx, "b", "o1"), ErrNotOwner)
	assert.Equal(t, []Claim{{"b", "o1"}}, extend(t, d, Claim{"b", "o1"}), "not held")
	require.ErrorIs(t, d.Release(ctx, "nobody", "o1"), ErrNotOwner)
	require.ErrorIs(t, d.Complete(ctx, "a", "o1", nil, never), ErrNotOwner, "already complete")
	assert.Empty(t, extend(t, d, Claim{"b", "o2"}))
	require.NoError(t, d.Complete(ctx, "b", "o2", nil, never))

	// TTL: forgotten a minute after it was handled.
	clock.Advance(59 * time.Second)
	_, done, err = d.Acquire(ctx, "a", "o3", never)
	require.NoError(t, err)
	assert.True(t, done)
	clock.Advance(time.Second)
	_, done, err = d.Acquire(ctx, "a", "o3", never)
	require.NoError(t, err)
	assert.False(t, done, "expired")
}

// TestMemoryDedupLease: a claim whose holder died lapses after the lease,
// and a later attempt handles the push; the dead holder can no longer
// complete it. Extending the claim keeps it.
func TestMemoryDedupLease(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Unix(1714112445, 0)}
	d := &MemoryDedup{Now: clock.Now}

	_, _, err := d.Acquire(ctx, "k", "crashed", never)
	require.NoError(t, err)
	clock.Advance(DefaultDedupLease - time.Second)
	assert.Empty(t, extend(t, d, Claim{"k", "crashed"}))
	clock.Advance(DefaultDedupLease - time.Second)

	waiting, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, _, err = d.Acquire(waiting, "k", "retry", never)
	require.ErrorIs(t, err, context.DeadlineExceeded, "extended: still held")

	clock.Advance(time.Second)
	_, done, err := d.Acquire(ctx, "k", "retry", never)
	require.NoError(t, err)
	assert.False(t, done, "the lease lapsed: the retry holds the push")
	require.ErrorIs(t, d.Complete(ctx, "k", "crashed", nil, never), ErrNotOwner)
	require.NoError(t, d.Complete(ctx, "k", "retry", []byte("answer"), never))
}

// TestMemoryDedupWaitsForTheAnswer: a duplicate that arrives while the
// first attempt runs gets that attempt's answer.
func TestMemoryDedupWaitsForTheAnswer(t *testing.T) {
	ctx := context.Background()
	var d MemoryDedup
	_, _, err := d.Acquire(ctx, "k", "first", never)
	require.NoError(t, err)

	type result struct {
		answer []byte
		done   bool
		err    error
	}
	results := make(chan result, 3)
	for i := 0; i < 3; i++ {
		go func() {
			a, done, err := d.Acquire(ctx, "k", "dup"+strconv.Itoa(i), never)
			results <- result{a, done, err}
		}()
	}
	time.Sleep(10 * time.Millisecond) // let them wait (the outcome does not depend on it)
	require.NoError(t, d.Complete(ctx, "k", "first", []byte("transfer"), never))
	for i := 0; i < 3; i++ {
		r := <-results
		require.NoError(t, r.err)
		assert.True(t, r.done)
		assert.Equal(t, "transfer", string(r.answer))
	}
}

// TestMemoryDedupEvictsByAge: handled pushes go when their TTL ends, not
// when others arrive; past MaxEntries the oldest go, and evicting one that
// a retry may still need is logged.
func TestMemoryDedupEvictsByAge(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Unix(1714112445, 0)}
	var logs bytes.Buffer
	d := &MemoryDedup{MaxEntries: 100, Now: clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	handle := func(key string) {
		_, done, err := d.Acquire(ctx, key, "o", never)
		require.NoError(t, err)
		require.False(t, done, key)
		require.NoError(t, d.Complete(ctx, key, "o", nil, never))
	}

	// 100 a second for the TTL: all kept, nothing logged.
	for i := 0; i < 100; i++ {
		handle(strconv.Itoa(i))
	}
	clock.Advance(DefaultDedupTTL - time.Second)
	for i := 0; i < 100; i++ {
		_, done, err := d.Acquire(ctx, strconv.Itoa(i), "retry", never)
		require.NoError(t, err)
		require.True(t, done, i)
	}
	clock.Advance(time.Second)
	handle("after the TTL")
	assert.Len(t, d.done, 1, "the 100 expired by age")
	assert.Empty(t, logs.String())

	// Past MaxEntries within the retry window: the oldest goes, and it is
	// reported.
	for i := 0; i < 100; i++ {
		handle("burst" + strconv.Itoa(i))
	}
	assert.Len(t, d.done, 100)
	assert.Contains(t, logs.String(), "evicted inside their window")
	assert.LessOrEqual(t, cap(d.queue), 400, "the queue is reclaimed")
}

func TestMemoryDedupZeroValue(t *testing.T) {
	var d MemoryDedup
	_, done, err := d.Acquire(context.Background(), "k", "o", never)
	require.NoError(t, err)
	assert.False(t, done)
	require.NoError(t, d.Complete(context.Background(), "k", "o", nil, never))
	_, done, err = d.Acquire(context.Background(), "k", "o2", never)
	require.NoError(t, err)
	assert.True(t, done)
}

func TestMemoryDedupWaitCancelled(t *testing.T) {
	var d MemoryDedup
	_, _, err := d.Acquire(context.Background(), "k", "o", never)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, done, err := d.Acquire(ctx, "k", "o2", never)
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, done)
}

// sha256Hex16 is the hex of the first 16 bytes of b's SHA-256, as DedupKey
// writes it.
func sha256Hex16(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// TestMemoryDedupKeepUntil: a handled push is kept until the keep-until
// of its Complete, or its TTL if later, and a later Acquire's keep-until
// extends it.
func TestMemoryDedupKeepUntil(t *testing.T) {
	ctx := context.Background()
	t0 := time.Unix(1714112445, 0)
	clock := &fakeClock{now: t0}
	d := &MemoryDedup{TTL: time.Minute, Now: clock.Now}
	complete := func(key string, keepUntil time.Time) {
		_, done, err := d.Acquire(ctx, key, "o", keepUntil)
		require.NoError(t, err)
		require.False(t, done)
		require.NoError(t, d.Complete(ctx, key, "o", nil, keepUntil))
	}
	complete("long", t0.Add(10*time.Minute))
	complete("short", t0.Add(time.Second)) // the TTL is later
	complete("extended", t0.Add(2*time.Minute))

	clock.Advance(time.Minute - time.Nanosecond)
	assert.True(t, kept(t, d, "short"))
	clock.Advance(time.Nanosecond)
	assert.False(t, kept(t, d, "short"), "the TTL ended")

	_, done, err := d.Acquire(ctx, "extended", "retry", t0.Add(20*time.Minute)) // a retry signed later
	require.NoError(t, err)
	require.True(t, done)
	_, done, err = d.Acquire(ctx, "extended", "retry", t0) // an earlier keep-until shortens nothing
	require.NoError(t, err)
	require.True(t, done)

	clock.Advance(9 * time.Minute)
	assert.False(t, kept(t, d, "long"), "its keep-until passed")
	clock.Advance(10*time.Minute - time.Nanosecond)
	assert.True(t, kept(t, d, "extended"))
	clock.Advance(time.Nanosecond)
	assert.False(t, kept(t, d, "extended"), "the retry's keep-until passed")
	assert.Empty(t, d.done)
}

// TestMemoryDedupWarnsOncePerInterval: evictions inside the window are
// summed into one warning per interval, with the count.
func TestMemoryDedupWarnsOncePerInterval(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Unix(1714112445, 0)}
	var logs bytes.Buffer
	d := &MemoryDedup{MaxEntries: 10, Now: clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	handle := func(n int) {
		for i := 0; i < n; i++ {
			key := strconv.Itoa(int(clock.Now().UnixNano())) + "/" + strconv.Itoa(i)
			_, _, err := d.Acquire(ctx, key, "o", never)
			require.NoError(t, err)
			require.NoError(t, d.Complete(ctx, key, "o", nil, never))
		}
	}
	handle(1010) // 1,000 evicted: the first warned at once, 999 held back
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"))
	assert.Contains(t, logs.String(), "evicted=1 ")
	clock.Advance(dedupWarnInterval - time.Second)
	handle(5)
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), "within the interval")
	clock.Advance(time.Second)
	handle(1)
	assert.Equal(t, 2, strings.Count(logs.String(), "level=WARN"))
	assert.Contains(t, logs.String(), "evicted=1004 ", "the sum of the interval: 999 and 5")
}

// TestMemoryDedupEntrySize measures the memory a handled push holds in a
// MemoryDedup, as its doc states it: about 100 bytes.
func TestMemoryDedupEntrySize(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("a memory figure, not under -race or -short")
	}
	ctx := context.Background()
	const n = 200_000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "msg|15:gh_97417a04a28d|28:o9AgO5Kd5ggOC-bXrbNODIiE3bGY|" + strconv.Itoa(6054768590064713728+i)
	}
	owner := "owner"
	clock := &fakeClock{now: time.Unix(1714112445, 0)}
	d := &MemoryDedup{Now: clock.Now}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, key := range keys {
		_, _, err := d.Acquire(ctx, key, owner, never)
		require.NoError(t, err)
		require.NoError(t, d.Complete(ctx, key, owner, nil, clock.now.Add(5*time.Minute)))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perEntry := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes a handled push", perEntry)
	assert.Less(t, perEntry, 130.0)
	runtime.KeepAlive(keys)
	runtime.KeepAlive(d)
}

// BenchmarkMemoryDedup is a fresh push's Acquire and Complete in a
// MemoryDedup at a steady size: entries pushes kept for the default
// window (the Tolerance and RetryWindow), as at entries/315 pushes a
// second, the clock moving so that one expires as each comes. The key's
// making (one allocation) is included.
func BenchmarkMemoryDedup(b *testing.B) {
	for _, entries := range []int{31_500, 315_000} {
		b.Run("entries="+strconv.Itoa(entries), func(b *testing.B) {
			ctx := context.Background()
			window := DefaultTolerance + RetryWindow
			step := window / time.Duration(entries)
			clock := &fakeClock{now: time.Unix(1714112445, 0)}
			d := &MemoryDedup{Now: clock.Now}
			key := func(i int) string {
				return "msg|15:gh_97417a04a28d|28:o9AgO5Kd5ggOC-bXrbNODIiE3bGY|" + strconv.Itoa(6054768590064713728+i)
			}
			push := func(i int) {
				k := key(i)
				now := clock.Now()
				if _, done, err := d.Acquire(ctx, k, "o", now.Add(window)); err != nil || done {
					b.Fatal(err, done)
				}
				if err := d.Complete(ctx, k, "o", nil, now.Add(window)); err != nil {
					b.Fatal(err)
				}
				clock.Advance(step)
			}
			for i := 0; i < entries; i++ {
				push(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				push(entries + i)
			}
		})
	}
}
