package inbox_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg/inbox"
	"github.com/csmsg/csmsg/inbox/memstore"
	"github.com/csmsg/csmsg/inbox/queue"
)

// claimAtShutdown is a store whose Claim returns a job only as Run's
// context ends: the file store can commit a claim batched just before.
type claimAtShutdown struct {
	queue.Store
	stop    context.CancelFunc
	claimed atomic.Int32
}

func (s *claimAtShutdown) Claim(ctx context.Context, max int, lease time.Duration) ([]queue.Job, error) {
	jobs, err := s.Store.Claim(ctx, max, lease)
	if len(jobs) > 0 {
		s.claimed.Add(int32(len(jobs)))
		s.stop()
	}
	return jobs, err
}

// TestClaimAtShutdownIsGivenBack: a job claimed as Run's context ends is
// not run, and goes back to the queue without counting an attempt.
func TestClaimAtShutdownIsGivenBack(t *testing.T) {
	mem := memstore.New(nil)
	ctx, cancel := context.WithCancel(context.Background())
	store := &claimAtShutdown{Store: mem, stop: cancel}
	ib := inbox.New(store, testOptions(inbox.Options{Workers: 1}))
	accept(t, ib, text("u", "1", "x"))

	var ran atomic.Int32
	err := ib.Run(ctx, func(context.Context, *inbox.Job) error { ran.Add(1); return nil })
	require.NoError(t, err)
	assert.Equal(t, int32(1), store.claimed.Load())
	assert.Zero(t, ran.Load(), "no job starts once ctx has ended")

	jobs, err := mem.Claim(context.Background(), 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, jobs, 1, "given back, ready at once")
	assert.Equal(t, 1, jobs[0].Attempt, "the attempt at shutdown does not count")
}

// claimCounter records the max of each Claim.
type claimCounter struct {
	queue.Store
	mu   sync.Mutex
	asks []int
}

func (s *claimCounter) Claim(ctx context.Context, max int, lease time.Duration) ([]queue.Job, error) {
	jobs, err := s.Store.Claim(ctx, max, lease)
	if len(jobs) > 0 {
		s.mu.Lock()
		s.asks = append(s.asks, max)
		s.mu.Unlock()
	}
	return jobs, err
}

// TestOneClaimServesIdleWorkers: Run claims a job for each idle worker in
// one call, and they run together.
func TestOneClaimServesIdleWorkers(t *testing.T) {
	store := &claimCounter{Store: memstore.New(nil)}
	ib := inbox.New(store, testOptions(inbox.Options{Workers: 4}))
	for _, user := range []string{"a", "b", "c", "d", "e"} {
		accept(t, ib, text(user, "1", "x"))
	}
	var running atomic.Int32
	together := make(chan struct{})
	stop := run(t, ib, func(ctx context.Context, _ *inbox.Job) error {
		if running.Add(1) == 4 {
			close(together)
		}
		<-together // the first four run at once
		return nil
	})
	defer stop()
	eventually(t, func() bool { st, _ := ib.Stats(context.Background()); return st.Queued+st.Running == 0 }, "every job ran")
	store.mu.Lock()
	defer store.mu.Unlock()
	require.NotEmpty(t, store.asks)
	assert.Equal(t, 4, store.asks[0], "the first claim asks for every idle worker")
	assert.Equal(t, int32(5), running.Load())
}
