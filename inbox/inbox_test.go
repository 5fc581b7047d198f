package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox"
)

func TestAcceptOnceThenRun(t *testing.T) {
	eachStore(t, func(t *testing.T, newInbox opener) {
		ib := newInbox(t, inbox.Options{})
		h := handler(t, ib)
		msg := text("o-user", "1001", "hello")
		for range 3 { // WeChat's retries
			w := send(t, h, msg)
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "success", w.Body.String())
		}
		st, err := ib.Stats(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 1, st.Queued)

		got := make(chan *inbox.Job, 10)
		run(t, ib, func(_ context.Context, job *inbox.Job) error { got <- job; return nil })
		job := <-got
		assert.Equal(t, msg, job.Message)
		assert.Equal(t, csmsg.DedupKey(msg), job.Key)
		assert.Equal(t, 1, job.Attempt)
		assert.WithinDuration(t, time.Now(), job.Accepted, 5*time.Second)
		eventually(t, func() bool { st, _ := ib.Stats(context.Background()); return st == inbox.Stats{} }, "completed")

		w := send(t, h, msg)
		assert.Equal(t, "success", w.Body.String(), "a replay after the job ran")
		select {
		case j := <-got:
			t.Fatalf("a second job: %+v", j)
		case <-time.After(20 * time.Millisecond):
		}
	})
}

func TestFastRouteAnswerRemembered(t *testing.T) {
	eachStore(t, func(t *testing.T, newInbox opener) {
		ib := newInbox(t, inbox.Options{Fast: func(msg csmsg.Message) (*csmsg.Reply, bool) {
			if m, ok := msg.(*csmsg.Text); ok && m.Content == "人工" {
				return csmsg.Transfer(msg), true
			}
			return nil, false
		}})
		h := handler(t, ib)
		msg := text("o-user", "1002", "人工")
		first := send(t, h, msg)
		assert.Equal(t, http.StatusOK, first.Code)
		assert.Contains(t, first.Body.String(), "transfer_customer_service")
		again := send(t, h, msg)
		assert.Equal(t, first.Body.String(), again.Body.String())
		st, err := ib.Stats(context.Background())
		require.NoError(t, err)
		assert.Equal(t, inbox.Stats{}, st, "no job")
	})
}

func TestFullQueueRefuses(t *testing.T) {
	eachStore(t, func(t *testing.T, newInbox opener) {
		var logs logBuffer
		ib := newInbox(t, inbox.Options{MaxJobs: 1, Logger: logs.logger()})
		h := handler(t, ib)
		assert.Equal(t, http.StatusOK, send(t, h, text("a", "1", "x")).Code)
		w := send(t, h, text("b", "2", "x"))
		assert.Equal(t, http.StatusInternalServerError, w.Code)
		assert.Equal(t, "level=WARN msg=\"inbox: push refused, the queue is full; WeChat will retry it\" max_jobs=1 max_bytes=268435456\n", logs.String())
		_, err := ib.Accept(context.Background(), text("b", "2", "x"))
		assert.ErrorIs(t, err, inbox.ErrFull)
	})
}

func TestSlowOrFailingUserHoldsNoOneElse(t *testing.T) {
	eachStore(t, func(t *testing.T, newInbox opener) {
		ib := newInbox(t, inbox.Options{Workers: 4, Backoff: func(int) time.Duration { return time.Hour }})
		release := make(chan struct{})
		var rec recorder
		run(t, ib, func(ctx context.Context, job *inbox.Job) error {
			m := job.Message.(*csmsg.Text)
			switch m.Content {
			case "slow":
				<-release
			case "fail":
				return errors.New("model down")
			}
			rec.add(m)
			return nil
		})
		accept(t, ib, text("slow-user", "1", "slow"))
		accept(t, ib, text("slow-user", "2", "after slow"))
		accept(t, ib, text("failing-user", "3", "fail"))
		accept(t, ib, text("failing-user", "4", "after fail"))
		for i := range 3 {
			for u := range 50 {
				accept(t, ib, text(fmt.Sprint("user", u), fmt.Sprint(100+u*3+i), fmt.Sprint("m", i)))
			}
		}
		eventually(t, func() bool { return rec.count() == 150 }, "50 users flow past the slow and the failing one")
		for u := range 50 {
			assert.Equal(t, []string{"m0", "m1", "m2"}, rec.of(fmt.Sprint("user", u)))
		}
		assert.Empty(t, rec.of("slow-user"))
		assert.Empty(t, rec.of("failing-user"))
		eventually(t, func() bool {
			st, err := ib.Stats(context.Background())
			return err == nil && st.Running == 1 && st.Retrying == 1 && st.Queued == 2
		}, "the slow job runs, the failing one waits in backoff, their next jobs wait")
		close(release)
		eventually(t, func() bool { return len(rec.of("slow-user")) == 2 }, "the slow user's next job")
		assert.Equal(t, []string{"slow", "after slow"}, rec.of("slow-user"))
	})
}

func TestRetryDeadLetterRevive(t *testing.T) {
	eachStore(t, func(t *testing.T, newInbox opener) {
		ib := newInbox(t, inbox.Options{MaxAttempts: 3})
		ctx := context.Background()
		var fail atomic.Bool
		fail.Store(true)
		var steps atomic.Int32
		var rec recorder
		run(t, ib, func(ctx context.Context, job *inbox.Job) error {
			m := job.Message.(*csmsg.Text)
			if m.Content == "a1" {
				answer, err := job.Once(ctx, "model", func(context.Context) ([]byte, error) {
					steps.Add(1)
					return []byte("answer"), nil
				})
				if err != nil || string(answer) != "answer" {
					return fmt.Errorf("once: %q %w", answer, err)
				}
				if fail.Load() {
					return fmt.Errorf("send failed #%d", job.Attempt)
				}
			}
			rec.add(m)
			return nil
		})
		first := text("a", "1", "a1")
		accept(t, ib, first)
		accept(t, ib, text("a", "2", "a2"))
		eventually(t, func() bool { return len(rec.of("a")) == 1 }, "a2 after a1 dead-lettered")
		dl, err := ib.DeadLetters(ctx, 10)
		require.NoError(t, err)
		require.Len(t, dl, 1)
		assert.Equal(t, inbox.DeadLetter{ID: dl[0].ID, Key: csmsg.DedupKey(first), Message: first,
			Accepted: dl[0].Accepted, Died: dl[0].Died, Attempts: 3, Reason: "send failed #3"}, dl[0])
		assert.Equal(t, int32(1), steps.Load(), "Once ran once over three attempts")

		fail.Store(false)
		accept(t, ib, text("a", "3", "a3"))
		eventually(t, func() bool { return len(rec.of("a")) == 2 }, "a3")
		require.NoError(t, ib.Retry(ctx, dl[0].ID))
		eventually(t, func() bool { return len(rec.of("a")) == 3 }, "the revived a1")
		assert.Equal(t, []string{"a2", "a3", "a1"}, rec.of("a"))
		assert.Equal(t, int32(1), steps.Load(), "the Once record survived the dead letter")
		assert.ErrorIs(t, ib.Retry(ctx, dl[0].ID), inbox.ErrNotFound)
		assert.EqualError(t, ib.Drop(ctx, dl[0].ID), fmt.Sprintf("inbox: dropping dead letter %d: inbox: no such job", dl[0].ID))
	})
}

// kfError stands for a kf error that retrying cannot fix.
type kfError struct{ code int }

func (e *kfError) Error() string   { return fmt.Sprintf("kf: errcode %d", e.code) }
func (e *kfError) Permanent() bool { return e.code == 45015 }

func TestPermanentDeadLettersAtOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, newInbox opener) {
		ctx := context.Background()
		for _, tc := range []struct {
			name   string
			err    error
			reason string
		}{
			{"Permanent", inbox.Permanent(errors.New("bad input")), "permanent: bad input"},
			{"wrapped", fmt.Errorf("reply: %w", inbox.Permanent(errors.New("bad"))), "permanent: reply: bad"},
			{"kf-style", fmt.Errorf("reply: %w", &kfError{45015}), "permanent: reply: kf: errcode 45015"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ib := newInbox(t, inbox.Options{})
				var calls atomic.Int32
				run(t, ib, func(context.Context, *inbox.Job) error { calls.Add(1); return tc.err })
				accept(t, ib, text("u", "1", "x"))
				var dl []inbox.DeadLetter
				eventually(t, func() bool { dl, _ = ib.DeadLetters(ctx, 10); return len(dl) == 1 }, "dead letter")
				assert.Equal(t, tc.reason, dl[0].Reason)
				assert.Equal(t, 1, dl[0].Attempts)
				assert.Equal(t, int32(1), calls.Load())
			})
		}
		assert.NoError(t, inbox.Permanent(nil))
	})
}

func TestPanicRetries(t *testing.T) {
	eachStore(t, func(t *testing.T, newInbox opener) {
		ib := newInbox(t, inbox.Options{})
		var calls atomic.Int32
		var rec recorder
		run(t, ib, func(_ context.Context, job *inbox.Job) error {
			if calls.Add(1) == 1 {
				panic("oops")
			}
			assert.Equal(t, "inbox: job function panicked: oops", job.LastError)
			rec.add(job.Message)
			return nil
		})
		accept(t, ib, text("u", "1", "x"))
		eventually(t, func() bool { return rec.count() == 1 }, "retried after the panic")
	})
}

func TestOnceRepeatedName(t *testing.T) {
	eachStore(t, func(t *testing.T, newInbox opener) {
		ib := newInbox(t, inbox.Options{})
		errs := make(chan error, 1)
		run(t, ib, func(ctx context.Context, job *inbox.Job) error {
			step := func(context.Context) ([]byte, error) { return nil, nil }
			if _, err := job.Once(ctx, "send", step); err != nil {
				errs <- err
				return nil
			}
			_, err := job.Once(ctx, "send", step)
			errs <- err
			return nil
		})
		accept(t, ib, text("u", "1", "x"))
		err := <-errs
		assert.ErrorIs(t, err, inbox.ErrOnceRepeated)
		assert.EqualError(t, err, `inbox: Once step name used twice in one run: "send"`)
	})
}

func TestShutdownReturnsRunningJob(t *testing.T) {
	eachStore(t, func(t *testing.T, newInbox opener) {
		ib := newInbox(t, inbox.Options{DrainTimeout: 20 * time.Millisecond})
		started := make(chan struct{})
		stop := run(t, ib, func(ctx context.Context, job *inbox.Job) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		})
		accept(t, ib, text("u", "1", "x"))
		<-started
		stop()
		st, err := ib.Stats(context.Background())
		require.NoError(t, err)
		assert.Equal(t, inbox.Stats{Queued: 1, Bytes: st.Bytes, OldestAge: st.OldestAge}, st)

		got := make(chan *inbox.Job, 1)
		run(t, ib, func(_ context.Context, job *inbox.Job) error { got <- job; return nil })
		assert.Equal(t, 1, (<-got).Attempt, "the drained attempt did not count")
	})
}

func TestShutdownDrainsJobsThatFinish(t *testing.T) {
	eachStore(t, func(t *testing.T, newInbox opener) {
		ib := newInbox(t, inbox.Options{DrainTimeout: 5 * time.Second})
		started := make(chan struct{})
		var rec recorder
		stop := run(t, ib, func(ctx context.Context, job *inbox.Job) error {
			close(started)
			time.Sleep(30 * time.Millisecond)
			rec.add(job.Message)
			return nil
		})
		accept(t, ib, text("u", "1", "x"))
		<-started
		stop()
		assert.Equal(t, 1, rec.count())
		st, err := ib.Stats(context.Background())
		require.NoError(t, err)
		assert.Equal(t, inbox.Stats{}, st)
	})
}

func TestRunTwice(t *testing.T) {
	eachStore(t, func(t *testing.T, newInbox opener) {
		ib := newInbox(t, inbox.Options{})
		ran := make(chan struct{}, 1)
		run(t, ib, func(context.Context, *inbox.Job) error { ran <- struct{}{}; return nil })
		accept(t, ib, text("u", "1", "x"))
		<-ran
		assert.ErrorIs(t, ib.Run(context.Background(), func(context.Context, *inbox.Job) error { return nil }), inbox.ErrRunning)
		assert.EqualError(t, ib.Run(context.Background(), nil), "inbox: Run with a nil function")
	})
}

func TestOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.inbox")
	ib, err := inbox.Open(path, testOptions(inbox.Options{}))
	require.NoError(t, err)
	h := handler(t, ib)
	msg := text("u", "1", "x")
	assert.Equal(t, "success", send(t, h, msg).Body.String())
	_, err = inbox.Open(path, inbox.Options{LockTimeout: 50 * time.Millisecond})
	assert.EqualError(t, err, "inbox: store file is in use by another process: "+path+", after 50ms")
	require.NoError(t, ib.Close())

	ib, err = inbox.Open(path, testOptions(inbox.Options{}))
	require.NoError(t, err)
	t.Cleanup(func() { ib.Close() }) // after Run's
	var rec recorder
	run(t, ib, func(_ context.Context, job *inbox.Job) error { rec.add(job.Message); return nil })
	eventually(t, func() bool { return rec.count() == 1 }, "the job survived the reopen")
	assert.Equal(t, "success", send(t, handler(t, ib), msg).Body.String())
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, 1, rec.count(), "the key survived the reopen")
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notBolt := filepath.Join(dir, "not-an-inbox")
	require.NoError(t, os.WriteFile(notBolt, []byte("a text file, not a bbolt file; long enough to have a header"), 0o600))
	for _, tc := range []struct {
		name, path string
		is         error
		msg        string
	}{
		{"missing directory", filepath.Join(dir, "missing", "bot.inbox"), fs.ErrNotExist,
			"inbox: opening the store: open " + filepath.Join(dir, "missing", "bot.inbox") + ": no such file or directory"},
		{"a directory", dir, nil, "inbox: opening the store: open " + dir + ": is a directory"},
		{"not a store", notBolt, nil, "inbox: opening the store: invalid database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ib, err := inbox.Open(tc.path, inbox.Options{LockTimeout: 50 * time.Millisecond})
			assert.Nil(t, ib)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.EqualError(t, err, tc.msg)
		})
	}
}

func TestDeduper(t *testing.T) {
	eachStore(t, func(t *testing.T, newInbox opener) {
		ib := newInbox(t, inbox.Options{})
		ctx := context.Background()
		var d csmsg.Deduper = ib
		var never time.Time
		_, done, err := d.Acquire(ctx, "k", "owner1", never)
		require.NoError(t, err)
		assert.False(t, done)
		assert.ErrorIs(t, d.Complete(ctx, "k", "other", []byte("a"), never), csmsg.ErrNotOwner)
		lost, err := d.Extend(ctx, []csmsg.Claim{{Key: "k", Owner: "other"}, {Key: "k", Owner: "owner1"}})
		require.NoError(t, err)
		assert.Equal(t, []csmsg.Claim{{Key: "k", Owner: "other"}}, lost)
		assert.ErrorIs(t, d.Release(ctx, "k", "other"), csmsg.ErrNotOwner)
		require.NoError(t, d.Complete(ctx, "k", "owner1", []byte("answer"), never))
		answer, done, err := d.Acquire(ctx, "k", "owner2", never)
		require.NoError(t, err)
		assert.True(t, done)
		assert.Equal(t, "answer", string(answer))

		_, done, err = d.Acquire(ctx, "k2", "owner1", never)
		require.NoError(t, err)
		require.False(t, done)
		require.NoError(t, d.Release(ctx, "k2", "owner1"))
		_, done, err = d.Acquire(ctx, "k2", "owner2", never)
		require.NoError(t, err)
		assert.False(t, done, "released: the next attempt handles it")
	})
}

func TestBadOptionsAndInput(t *testing.T) {
	ib := newInbox(t, inbox.Options{Workers: -1, Lease: -1, MaxAttempts: -3, DrainTimeout: -1, PollInterval: -1,
		KeyRetention: -1, DeadRetention: -1, MaxAge: -1, MaxJobs: -1, MaxBytes: -1})
	var rec recorder
	run(t, ib, func(_ context.Context, job *inbox.Job) error { rec.add(job.Message); return nil })
	accept(t, ib, text("u", "1", "x"))
	eventually(t, func() bool { return rec.count() == 1 }, "runs on the defaults")
	_, err := ib.Accept(context.Background(), nil)
	assert.EqualError(t, err, "inbox: no message")
	_, err = ib.Accept(context.Background(), (*csmsg.Text)(nil))
	assert.EqualError(t, err, "inbox: no message")
	assert.Positive(t, inbox.DefaultBackoff(-5))
}

func TestDefaultBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{6, 16 * time.Second, 32 * time.Second},
		{7, 30 * time.Second, time.Minute},
		{100, 30 * time.Second, time.Minute},
	} {
		for range 20 {
			d := inbox.DefaultBackoff(tc.attempt)
			assert.True(t, d >= tc.min && d <= tc.max, "attempt %d: %v", tc.attempt, d)
		}
	}
	var total time.Duration
	for n := 1; n < inbox.DefaultMaxAttempts; n++ {
		total += inbox.DefaultBackoff(n)
	}
	assert.Less(t, total, 3*time.Minute, "a failing job holds its user up a few minutes at most")
}

func TestRunEndsWhenClosed(t *testing.T) {
	eachStore(t, func(t *testing.T, newInbox opener) {
		ib := newInbox(t, inbox.Options{})
		done := make(chan error, 1)
		go func() { done <- ib.Run(context.Background(), func(context.Context, *inbox.Job) error { return nil }) }()
		require.NoError(t, ib.Close())
		err := <-done
		assert.ErrorIs(t, err, inbox.ErrClosed)
		assert.EqualError(t, err, "inbox: Run: inbox: store closed")
	})
}
