package csmsgredis

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg/inbox/queue"
)

// heldPipelines holds each pipeline of scripts until release is closed,
// and counts them and the scripts they carried. (A new connection's own
// handshake pipeline passes.)
type heldPipelines struct {
	release   chan struct{}
	pipelines atomic.Int64
	held      atomic.Int64 // commands in pipelines that are held
	cmds      atomic.Int64
}

func (h *heldPipelines) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *heldPipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *heldPipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if cmds[0].Name() != "evalsha" {
			return next(ctx, cmds)
		}
		h.pipelines.Add(1)
		h.cmds.Add(int64(len(cmds)))
		h.held.Add(int64(len(cmds)))
		<-h.release
		return next(ctx, cmds)
	}
}

// The calls that arrive while pipelines are in flight wait, and go
// together: maxPipelined a pipeline.
func TestPipelinesGatherCalls(t *testing.T) {
	rdb := testRedis(t)
	ctx := context.Background()
	q, err := NewQueue(ctx, rdb, QueueOptions{Prefix: testPrefix(t, rdb)})
	require.NoError(t, err)
	hook := &heldPipelines{release: make(chan struct{})}
	rdb.AddHook(hook)

	const n = 300
	ids := make([]uint64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := q.Accept(ctx, queue.Push{Key: fmt.Sprint("k", i), Group: fmt.Sprint("g", i%7), Body: []byte("m")})
			ids[i], errs[i] = a.ID, err
		}()
	}
	waiting := func() int {
		q.pipes.mu.Lock()
		defer q.pipes.mu.Unlock()
		return len(q.pipes.waiting)
	}
	require.Eventually(t, func() bool { return waiting()+int(hook.held.Load()) == n }, 10*time.Second, time.Millisecond,
		"every call is held in a pipeline or waits for one")
	assert.Equal(t, int64(maxPipelines), hook.pipelines.Load(), "at most maxPipelines in flight")
	rest := waiting()
	close(hook.release)
	wg.Wait()

	assert.Equal(t, int64(maxPipelines+(rest+maxPipelined-1)/maxPipelined), hook.pipelines.Load(),
		"the %d calls that waited went in pipelines of up to %d", rest, maxPipelined)
	assert.Equal(t, int64(n), hook.cmds.Load())
	seen := map[uint64]bool{}
	for i := range n {
		require.NoError(t, errs[i])
		seen[ids[i]] = true
	}
	assert.Len(t, seen, n, "each accept made its own job")
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, n, st.Queued)
	require.Eventually(t, func() bool {
		q.pipes.mu.Lock()
		defer q.pipes.mu.Unlock()
		return q.pipes.running == 0 && q.pipes.waiting == nil
	}, 10*time.Second, time.Millisecond, "no goroutine stays when no call waits")
}

// After SCRIPT FLUSH (or a restart of Redis) a pipelined script that
// Redis no longer holds is loaded and run again.
func TestPipelinesReloadScripts(t *testing.T) {
	rdb := testRedis(t)
	ctx := context.Background()
	q, err := NewQueue(ctx, rdb, QueueOptions{Prefix: testPrefix(t, rdb)})
	require.NoError(t, err)
	require.NoError(t, rdb.ScriptFlush(ctx).Err())
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := q.Accept(ctx, queue.Push{Key: fmt.Sprint("k", i), Group: "g", Body: []byte("m")})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 20, st.Queued)
}

// A call whose context ended before its pipeline left is not sent.
func TestPipelinesSkipCancelledCalls(t *testing.T) {
	rdb := testRedis(t)
	q, err := NewQueue(context.Background(), rdb, QueueOptions{Prefix: testPrefix(t, rdb)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = q.Accept(ctx, queue.Push{Key: "k", Group: "g", Body: []byte("m")})
	assert.ErrorIs(t, err, ErrRedis)
	assert.ErrorIs(t, err, context.Canceled)
	assert.EqualError(t, err, "csmsgredis: redis call failed: accept: context canceled")
	_, found, err := q.Lookup(context.Background(), "k")
	require.NoError(t, err)
	assert.False(t, found, "the accept was not run")
}
