package csmsgredis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgredis"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// contract is one case of the csmsg.Deduper contract, run against a Dedup
// of its own prefix.
type contract struct {
	name string
	opts csmsgredis.DedupOptions
	run  func(t *testing.T, s *csmsgredis.Dedup, rdb *redis.Client)
}

const key = "msg|gh_97417a04a28d|o9AgO5Kd5ggOC-bXrbNODIiE3bGY|6054768590064713728"

var ctx = context.Background()

// acquire is Acquire that must not fail.
func acquire(t *testing.T, s *csmsgredis.Dedup, owner string) ([]byte, bool) {
	t.Helper()
	answer, done, err := s.Acquire(ctx, key, owner, never)
	require.NoError(t, err)
	return answer, done
}

// never is the zero keep-until: the store's TTL alone.
var never time.Time

// extend extends owner's claim on key alone: ErrNotOwner if the store
// reports it lost.
func extend(s *csmsgredis.Dedup, owner string) error {
	c := csmsg.Claim{Key: key, Owner: owner}
	lost, err := s.Extend(ctx, []csmsg.Claim{c})
	switch {
	case err != nil:
		return err
	case len(lost) == 1 && lost[0] == c:
		return fmt.Errorf("csmsgredis test: lost %v: %w", lost, csmsg.ErrNotOwner)
	case len(lost) != 0:
		return fmt.Errorf("csmsgredis test: lost %v, not the claim extended", lost)
	}
	return nil
}

// claimed asserts that owner now holds the claim.
func claimed(t *testing.T, s *csmsgredis.Dedup, owner string) {
	t.Helper()
	answer, done := acquire(t, s, owner)
	require.False(t, done)
	require.Nil(t, answer)
}

var contracts = []contract{
	{name: "a free key is claimed", run: func(t *testing.T, s *csmsgredis.Dedup, rdb *redis.Client) {
		claimed(t, s, "A")
		v, err := rdb.Get(ctx, s.Key(key)).Result()
		require.NoError(t, err)
		assert.Equal(t, "cA", v)
		pttl, err := rdb.PTTL(ctx, s.Key(key)).Result()
		require.NoError(t, err)
		assert.InDelta(t, csmsg.DefaultDedupLease.Seconds(), pttl.Seconds(), 1, "a claim expires after the lease")
	}},
	{name: "the holder's own Acquire again keeps its claim", run: func(t *testing.T, s *csmsgredis.Dedup, _ *redis.Client) {
		claimed(t, s, "A")
		claimed(t, s, "A") // a call go-redis retried after a lost reply
		require.NoError(t, s.Release(ctx, key, "A"))
	}},
	{name: "complete with an answer", run: func(t *testing.T, s *csmsgredis.Dedup, rdb *redis.Client) {
		claimed(t, s, "A")
		require.NoError(t, s.Complete(ctx, key, "A", []byte(`<xml><MsgType>transfer_customer_service</MsgType></xml>`), never))
		for _, owner := range []string{"B", "A"} {
			answer, done := acquire(t, s, owner)
			assert.True(t, done)
			assert.Equal(t, `<xml><MsgType>transfer_customer_service</MsgType></xml>`, string(answer))
		}
		pttl, err := rdb.PTTL(ctx, s.Key(key)).Result()
		require.NoError(t, err)
		assert.InDelta(t, csmsg.DefaultDedupTTL.Seconds(), pttl.Seconds(), 1, "a handled push expires after the TTL")
	}},
	{name: "complete with a nil answer is success", run: func(t *testing.T, s *csmsgredis.Dedup, _ *redis.Client) {
		claimed(t, s, "A")
		require.NoError(t, s.Complete(ctx, key, "A", nil, never))
		answer, done := acquire(t, s, "B")
		assert.True(t, done)
		assert.Nil(t, answer)
	}},
	{name: "an answer of any bytes is kept exactly", run: func(t *testing.T, s *csmsgredis.Dedup, _ *redis.Client) {
		all := make([]byte, 256)
		for i := range all {
			all[i] = byte(i)
		}
		claimed(t, s, "A")
		require.NoError(t, s.Complete(ctx, key, "A", all, never))
		answer, done := acquire(t, s, "B")
		assert.True(t, done)
		assert.Equal(t, all, answer)
	}},
	{name: "a claim is completed once, by its holder only", run: func(t *testing.T, s *csmsgredis.Dedup, _ *redis.Client) {
		claimed(t, s, "A")
		require.NoError(t, s.Complete(ctx, key, "A", nil, never))
		assert.ErrorIs(t, s.Complete(ctx, key, "B", nil, never), csmsg.ErrNotOwner, "B never held it, though the answer is the same")
		assert.ErrorIs(t, s.Complete(ctx, key, "A", nil, never), csmsg.ErrNotOwner, "the claim is gone once complete")
		answer, done := acquire(t, s, "C")
		assert.True(t, done)
		assert.Nil(t, answer)
	}},
	{name: "release lets the next attempt claim", run: func(t *testing.T, s *csmsgredis.Dedup, rdb *redis.Client) {
		claimed(t, s, "A")
		require.NoError(t, s.Release(ctx, key, "A"))
		n, err := rdb.Exists(ctx, s.Key(key)).Result()
		require.NoError(t, err)
		assert.Zero(t, n)
		claimed(t, s, "B")
	}},
	{name: "only the holder extends, completes or releases", run: func(t *testing.T, s *csmsgredis.Dedup, rdb *redis.Client) {
		// No claim at all.
		assert.ErrorIs(t, extend(s, "A"), csmsg.ErrNotOwner)
		assert.ErrorIs(t, s.Complete(ctx, key, "A", nil, never), csmsg.ErrNotOwner)
		assert.ErrorIs(t, s.Release(ctx, key, "A"), csmsg.ErrNotOwner)
		n, err := rdb.Exists(ctx, s.Key(key)).Result()
		require.NoError(t, err)
		assert.Zero(t, n, "a refused Complete records nothing")

		// Another owner's claim.
		claimed(t, s, "A")
		assert.ErrorIs(t, extend(s, "B"), csmsg.ErrNotOwner, "reported lost")
		for _, err := range []error{
			s.Complete(ctx, key, "B", []byte("forged"), never),
			s.Release(ctx, key, "B"),
		} {
			assert.ErrorIs(t, err, csmsg.ErrNotOwner)
			assert.Contains(t, err.Error(), "csmsgredis: ")
		}
		require.NoError(t, extend(s, "A"))

		// A handled push.
		require.NoError(t, s.Complete(ctx, key, "A", []byte("answer"), never))
		assert.ErrorIs(t, extend(s, "A"), csmsg.ErrNotOwner)
		assert.ErrorIs(t, s.Release(ctx, key, "A"), csmsg.ErrNotOwner)
		assert.ErrorIs(t, s.Complete(ctx, key, "B", nil, never), csmsg.ErrNotOwner)
		answer, done := acquire(t, s, "C")
		assert.True(t, done)
		assert.Equal(t, "answer", string(answer))
	}},
	{name: "a waiting attempt gets the in-flight attempt's answer", run: func(t *testing.T, s *csmsgredis.Dedup, _ *redis.Client) {
		claimed(t, s, "A")
		start := time.Now() // before the Complete's pause starts, so no stall shortens the wait
		go func() {
			time.Sleep(150 * time.Millisecond)
			s.Complete(ctx, key, "A", []byte("transfer"), never)
		}()
		answer, done := acquire(t, s, "B")
		assert.True(t, done)
		assert.Equal(t, "transfer", string(answer))
		assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
		assert.Less(t, time.Since(start), 5*time.Second, "it looks again while it waits")
	}},
	{name: "a waiting attempt claims a released key", run: func(t *testing.T, s *csmsgredis.Dedup, _ *redis.Client) {
		claimed(t, s, "A")
		go func() {
			time.Sleep(100 * time.Millisecond)
			s.Release(ctx, key, "A")
		}()
		claimed(t, s, "B")
		assert.ErrorIs(t, s.Complete(ctx, key, "A", nil, never), csmsg.ErrNotOwner)
		require.NoError(t, s.Complete(ctx, key, "B", nil, never))
	}},
	{name: "waiting ends with the context", run: func(t *testing.T, s *csmsgredis.Dedup, _ *redis.Client) {
		claimed(t, s, "A")
		c, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, done, err := s.Acquire(c, key, "B", never)
		assert.False(t, done)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 5*time.Second)
		require.NoError(t, extend(s, "A"), "the waiter took nothing")
	}},
	{name: "a claim lapses after the lease", opts: csmsgredis.DedupOptions{Lease: 300 * time.Millisecond}, run: func(t *testing.T, s *csmsgredis.Dedup, _ *redis.Client) {
		start := time.Now() // before the lease starts, so no stall shortens the wait
		claimed(t, s, "crashed")
		claimed(t, s, "B")
		waited := time.Since(start)
		assert.GreaterOrEqual(t, waited, 250*time.Millisecond)
		assert.Less(t, waited, 5*time.Second, "it looks again when the lease ends")
		assert.ErrorIs(t, s.Complete(ctx, key, "crashed", []byte("late"), never), csmsg.ErrNotOwner)
		require.NoError(t, s.Complete(ctx, key, "B", []byte("B's"), never))
		answer, done := acquire(t, s, "C")
		assert.True(t, done)
		assert.Equal(t, "B's", string(answer))
	}},
	{name: "extending keeps a claim past its lease", opts: csmsgredis.DedupOptions{Lease: 2 * time.Second}, run: func(t *testing.T, s *csmsgredis.Dedup, _ *redis.Client) {
		// Extensions every 100 ms, each well inside the lease however
		// loaded the machine, until the claim has outlived its lease.
		claimed(t, s, "A")
		for start := time.Now(); time.Since(start) < 2*time.Second+500*time.Millisecond; {
			time.Sleep(100 * time.Millisecond)
			require.NoError(t, extend(s, "A"))
		}
		c, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, _, err := s.Acquire(c, key, "B", never)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		require.NoError(t, s.Complete(ctx, key, "A", nil, never))
	}},
	{name: "a handled push expires after the TTL", opts: csmsgredis.DedupOptions{TTL: 300 * time.Millisecond}, run: func(t *testing.T, s *csmsgredis.Dedup, rdb *redis.Client) {
		claimed(t, s, "A")
		require.NoError(t, s.Complete(ctx, key, "A", []byte("x"), never))
		_, done := acquire(t, s, "B")
		require.True(t, done)
		time.Sleep(400 * time.Millisecond)
		n, err := rdb.Exists(ctx, s.Key(key)).Result()
		require.NoError(t, err)
		assert.Zero(t, n)
		claimed(t, s, "C")
	}},
	{name: "kept until the keep-until, extended by a later Acquire's", run: func(t *testing.T, s *csmsgredis.Dedup, rdb *redis.Client) {
		pttl := func() float64 {
			d, err := rdb.PTTL(ctx, s.Key(key)).Result()
			require.NoError(t, err)
			return d.Seconds()
		}
		claimed(t, s, "A")
		require.NoError(t, s.Complete(ctx, key, "A", nil, time.Now().Add(10*time.Minute)))
		assert.InDelta(t, 600, pttl(), 1, "Complete's keep-until, past the TTL")
		_, done, err := s.Acquire(ctx, key, "B", time.Now().Add(20*time.Minute))
		require.NoError(t, err)
		require.True(t, done)
		assert.InDelta(t, 1200, pttl(), 1, "a later attempt's keep-until")
		_, done, err = s.Acquire(ctx, key, "C", time.Now().Add(time.Minute))
		require.NoError(t, err)
		require.True(t, done)
		assert.InDelta(t, 1200, pttl(), 1, "an earlier one shortens nothing")
	}},
	{name: "keys are the prefix and the dedup key", opts: csmsgredis.DedupOptions{Prefix: "csmsgtest:explicit:"}, run: func(t *testing.T, s *csmsgredis.Dedup, rdb *redis.Client) {
		assert.Equal(t, "csmsgtest:explicit:"+key, s.Key(key))
		rdb.Del(ctx, s.Key(key))
		claimed(t, s, "A")
		require.NoError(t, s.Release(ctx, key, "A"))
	}},
}

func TestContract(t *testing.T) {
	rdb := sharedClient(t)
	for _, c := range contracts {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newDedup(t, rdb, c.opts), rdb)
		})
	}
}

// TestDefaults: the zero DedupOptions give the documented prefix.
func TestDefaults(t *testing.T) {
	s := csmsgredis.NewDedup(nil, csmsgredis.DedupOptions{})
	assert.Equal(t, "csmsg:dedup:k", s.Key("k"))
}

// countingHook counts the commands a client sends.
type countingHook struct{ n atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// TestWaitingDoesNotHammer counts the commands of an Acquire that waits a
// second: the pauses double from 20 ms to 200 ms, about ten looks.
func TestWaitingDoesNotHammer(t *testing.T) {
	rdb := sharedClient(t)
	s := newDedup(t, rdb, csmsgredis.DedupOptions{})
	claimed(t, s, "A")

	waiter := newClient(t, rdb.Options().Addr)
	hook := &countingHook{}
	waiter.AddHook(hook)
	ws := csmsgredis.NewDedup(waiter, csmsgredis.DedupOptions{Prefix: s.Key("")})
	c, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, _, err := ws.Acquire(c, key, "B", never)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	n := hook.n.Load()
	t.Logf("%d commands in a second of waiting", n)
	assert.LessOrEqual(t, n, int64(14))
	assert.GreaterOrEqual(t, n, int64(5))
}

// TestRedisDown: every operation fails with Redis's error, wrapped, and
// none of them as ErrNotOwner. (A dial timeout matches
// context.DeadlineExceeded; the Handler tells a request that gave up apart
// by its own context, not by the error.)
func TestRedisDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	s := csmsgredis.NewDedup(rdb, csmsgredis.DedupOptions{})

	_, done, err := s.Acquire(ctx, key, "A", never)
	assert.False(t, done)
	for _, err := range []error{err, extend(s, "A"), s.Complete(ctx, key, "A", nil, never), s.Release(ctx, key, "A")} {
		require.Error(t, err)
		assert.Contains(t, err.Error(), "csmsgredis: ")
		assert.False(t, errors.Is(err, csmsg.ErrNotOwner), "%v", err)
	}
}
