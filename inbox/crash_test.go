package inbox_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox"
	"github.com/csmsg/csmsg/inbox/memstore"
	"github.com/csmsg/csmsg/inbox/queue"
	"github.com/csmsg/csmsg/inbox/storetest"
)

// deadLetter waits for ib's one dead letter.
func deadLetter(t *testing.T, ib *inbox.Inbox) inbox.DeadLetter {
	t.Helper()
	var dl []inbox.DeadLetter
	eventually(t, func() bool { dl, _ = ib.DeadLetters(context.Background(), 10); return len(dl) == 1 }, "a dead letter")
	return dl[0]
}

func TestJobThatKillsItsProcessDeadLetters(t *testing.T) {
	clock := storetest.NewClock()
	store := memstore.New(clock.Now)
	ib := inbox.New(store, testOptions(inbox.Options{MaxAttempts: 2}))
	accept(t, ib, text("u", "1", "x"))
	ctx := context.Background()
	for range 2 { // two processes claimed the job and died
		jobs, err := store.Claim(ctx, 1, time.Minute)
		require.NoError(t, err)
		require.Len(t, jobs, 1)
		clock.Advance(time.Minute)
	}
	called := make(chan struct{}, 1)
	run(t, ib, func(context.Context, *inbox.Job) error { called <- struct{}{}; return nil })
	dl := deadLetter(t, ib)
	assert.Equal(t, "attempt 2 never finished (the process died or lost the lease each time); last error: ", dl.Reason)
	assert.Equal(t, 3, dl.Attempts)
	assert.Empty(t, called)
}

func TestOldJobDeadLetters(t *testing.T) {
	clock := storetest.NewClock()
	ib := inbox.New(memstore.New(clock.Now), testOptions(inbox.Options{
		Now: func() time.Time { return clock.Now().Add(49 * time.Hour) },
	}))
	accept(t, ib, text("u", "1", "x"))
	run(t, ib, func(context.Context, *inbox.Job) error { return nil })
	assert.Equal(t, "accepted 49h0m0s ago, past WeChat's 48-hour reply window", deadLetter(t, ib).Reason)
}

// failingRenew is a store whose renewals fail.
type failingRenew struct {
	queue.Store
	err error
}

func (s failingRenew) Renew(context.Context, queue.Lease, time.Duration) error { return s.err }

func TestRenewalFailureCancelsJob(t *testing.T) {
	ib := inbox.New(failingRenew{memstore.New(nil), errors.New("store down")},
		testOptions(inbox.Options{Lease: 600 * time.Millisecond, MaxAttempts: 1}))
	t.Cleanup(func() { ib.Close() })
	causes := make(chan error, 1)
	run(t, ib, func(ctx context.Context, _ *inbox.Job) error {
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return ctx.Err()
	})
	accept(t, ib, text("u", "1", "x"))
	assert.EqualError(t, <-causes, "inbox: lease renewal failed: store down")
	assert.Equal(t, "context canceled", deadLetter(t, ib).Reason)
}

func TestLostLeaseFencesOnce(t *testing.T) {
	clock := storetest.NewClock()
	store := memstore.New(clock.Now)
	ib := inbox.New(store, testOptions(inbox.Options{Lease: time.Hour}))
	t.Cleanup(func() { ib.Close() })
	errs := make(chan error, 1)
	stop := run(t, ib, func(ctx context.Context, job *inbox.Job) error {
		// The worker pauses past its lease, and another claims the job.
		clock.Advance(2 * time.Hour)
		jobs, err := store.Claim(ctx, 1, time.Hour)
		require.NoError(t, err)
		require.Len(t, jobs, 1)
		_, err = job.Once(ctx, "send", func(context.Context) ([]byte, error) { return []byte("sent"), nil })
		errs <- err
		return nil
	})
	accept(t, ib, text("u", "1", "x"))
	err := <-errs
	stop()
	assert.ErrorIs(t, err, inbox.ErrLeaseLost)
	assert.EqualError(t, err, `inbox: recording step "send": inbox: lease lost`)
	st, err := ib.Stats(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, st.Running, "the stale worker could not complete the job")
}

func TestStats(t *testing.T) {
	clock := storetest.NewClock()
	ib := inbox.New(memstore.New(clock.Now), testOptions(inbox.Options{
		Now: func() time.Time { return clock.Now().Add(90 * time.Second) },
	}))
	t.Cleanup(func() { ib.Close() })
	msg := text("u", "1", "x")
	accept(t, ib, msg)
	accept(t, ib, text("u", "2", "y"))
	st, err := ib.Stats(context.Background())
	require.NoError(t, err)
	body, err := csmsg.Marshal(msg, csmsg.FormatJSON)
	require.NoError(t, err)
	assert.Equal(t, inbox.Stats{Queued: 2, Bytes: 2 * int64(len(body)), OldestAge: 90 * time.Second}, st)
}

// renewals is a store that reports each renewal.
type renewals struct {
	queue.Store
	renewed chan struct{}
}

func (s renewals) Renew(ctx context.Context, l queue.Lease, lease time.Duration) error {
	err := s.Store.Renew(ctx, l, lease)
	select {
	case s.renewed <- struct{}{}:
	default:
	}
	return err
}

func TestLeaseRenewedWhileRunning(t *testing.T) {
	// The store's clock moves only by hand: the job outlives two leases,
	// and its lease holds because the worker renews it.
	clock := storetest.NewClock()
	const lease = 30 * time.Millisecond // renewed every 10ms of real time
	store := renewals{memstore.New(clock.Now), make(chan struct{})}
	ib := inbox.New(store, testOptions(inbox.Options{Lease: lease}))
	t.Cleanup(func() { ib.Close() })
	var calls atomic.Int32
	done := make(chan error, 1)
	stop := run(t, ib, func(ctx context.Context, job *inbox.Job) error {
		calls.Add(1)
		for range 6 {
			clock.Advance(lease / 2)
			<-store.renewed
		}
		_, err := job.Once(ctx, "step", func(context.Context) ([]byte, error) { return nil, nil })
		done <- err
		return err
	})
	accept(t, ib, text("u", "1", "x"))
	require.NoError(t, <-done)
	eventually(t, func() bool { st, _ := ib.Stats(context.Background()); return st == inbox.Stats{} }, "completed")
	stop()
	assert.Equal(t, int32(1), calls.Load())
}

func TestLogLines(t *testing.T) {
	var logs logBuffer
	ib := inbox.New(memstore.New(nil), testOptions(inbox.Options{Logger: logs.logger()}))
	t.Cleanup(func() { ib.Close() })
	var calls atomic.Int32
	stop := run(t, ib, func(context.Context, *inbox.Job) error {
		if calls.Add(1) == 1 {
			return errors.New("model timed out")
		}
		return inbox.Permanent(errors.New("user blocked the bot"))
	})
	accept(t, ib, text("u", "1", "a secret message"))
	deadLetter(t, ib)
	stop()
	assert.Equal(t, `level=WARN msg="inbox: job failed, retrying" job=1 attempt=1 delay=1ms err="model timed out"
level=ERROR msg="inbox: job dead-lettered" job=1 attempt=2 reason="permanent: user blocked the bot"
`, logs.String())
}
