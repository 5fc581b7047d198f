package inbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/csmsg/csmsg/inbox/queue"
)

// storeCallTimeout bounds a store call that settles a job.
const storeCallTimeout = 10 * time.Second

// Run calls fn for each accepted push until ctx ends: a user's jobs one at
// a time in accept order, the next only after the previous one's outcome
// is durable; different users' jobs in parallel, up to Options.Workers. A
// user whose job runs long or waits in backoff delays only that user's
// later jobs.
//
// A job fn fails (an error or a panic) is retried after Options.Backoff,
// up to Options.MaxAttempts, then dead-lettered with its last error; a
// [Permanent] error dead-letters at once, and so does a job older than
// Options.MaxAge when it would start. A dead letter does not hold its user
// up: the next job runs.
//
// When ctx ends, no job starts; running jobs have Options.DrainTimeout to
// finish, then their contexts are cancelled, and a job that then fails
// goes back to the queue without counting the attempt. Run returns nil
// then; an error matching [ErrClosed] if the Inbox was closed under it
// (after the same drain); [ErrRunning] if another Run is running on the
// Inbox; or an error for a nil fn.
func (ib *Inbox) Run(ctx context.Context, fn Func) error {
	if fn == nil {
		return errNilFunc
	}
	if !ib.run.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer ib.run.Store(false)
	r := &runner{ib: ib, fn: fn}
	// The dispatcher claims until loopCtx ends: with ctx, or when the
	// store is closed. Jobs run on a context of their own, cancelled after
	// the drain.
	loopCtx, stopLoop := context.WithCancel(ctx)
	defer stopLoop()
	r.stopLoop = stopLoop
	jobsCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	r.wg.Add(1)
	go r.dispatch(loopCtx, jobsCtx)
	r.wg.Add(1)
	go r.purge(loopCtx)
	<-loopCtx.Done()
	drained := make(chan struct{})
	go func() { r.wg.Wait(); close(drained) }()
	drain := time.NewTimer(ib.opts.DrainTimeout)
	defer drain.Stop()
	select {
	case <-drained:
	case <-drain.C:
		r.stopping.Store(true)
		cancelJobs()
		<-drained
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

var errNilFunc = errors.New("inbox: Run with a nil function")

// runner is one Run.
type runner struct {
	ib       *Inbox
	fn       Func
	stopLoop context.CancelFunc
	wg       sync.WaitGroup
	stopping atomic.Bool // jobs' contexts were cancelled by the drain

	mu  sync.Mutex
	err error // why the loop stopped, if not its context
}

// dispatch claims jobs for the idle workers and hands them over, until
// ctx ends or the store is closed; then it waits for the running jobs. One
// claim takes a job for each idle worker that the store has ready, so
// that under load a claim serves many jobs. It claims only when a job
// may be ready: a push was accepted here, a completion found its user's
// next job, the last claim filled every idle worker, or PollInterval
// passed (for backoffs, expired leases and other instances' accepts).
func (r *runner) dispatch(ctx, jobsCtx context.Context) {
	defer r.wg.Done()
	ib := r.ib
	jobs := make(chan queue.Job)
	done := make(chan bool, ib.opts.Workers) // a worker finished a job: whether another may be ready
	var workers sync.WaitGroup
	for range ib.opts.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range jobs {
				done <- r.work(jobsCtx, j)
			}
		}()
	}
	defer func() {
		close(jobs)
		workers.Wait()
	}()
	poll := time.NewTicker(ib.opts.PollInterval)
	defer poll.Stop()
	idle, ready := ib.opts.Workers, true
	for ctx.Err() == nil {
		for finished := true; finished; { // count the workers that finished meanwhile
			select {
			case more := <-done:
				idle, ready = idle+1, ready || more
			default:
				finished = false
			}
		}
		if idle == 0 || !ready {
			select {
			case <-ctx.Done():
			case more := <-done:
				idle, ready = idle+1, ready || more
			case <-ib.wake:
				ready = true
			case <-poll.C:
				ready = true
			}
			continue
		}
		// The claim outlives ctx, bounded: a store may commit it after ctx
		// ended (the file store batches it), and then the jobs are given
		// back below rather than run or left leased.
		var claimed []queue.Job
		err := settle(ctx, func(cctx context.Context) error {
			var err error
			claimed, err = ib.store.Claim(cctx, idle, ib.opts.Lease)
			return err
		})
		if ctx.Err() != nil {
			r.giveBack(jobsCtx, claimed)
			return
		}
		switch {
		case errors.Is(err, queue.ErrClosed):
			r.mu.Lock()
			if r.err == nil {
				r.err = fmt.Errorf("inbox: Run: %w", err)
			}
			r.mu.Unlock()
			r.stopLoop()
			return
		case err != nil:
			ib.logger.ErrorContext(ctx, "inbox: claiming jobs", slog.Any("err", err))
		}
		for _, j := range claimed {
			jobs <- j // an idle worker takes it
		}
		// A claim that filled every idle worker may have left jobs ready.
		ready = len(claimed) > 0 && len(claimed) == idle
		idle -= len(claimed)
	}
}

// giveBack returns jobs claimed as Run was ending, without running them
// and without counting their attempt.
func (r *runner) giveBack(ctx context.Context, jobs []queue.Job) {
	for _, j := range jobs {
		err := settle(ctx, func(ctx context.Context) error { return r.ib.store.Return(ctx, j.Lease) })
		if err != nil && !errors.Is(err, queue.ErrClosed) { // a closed store's lease lapses by itself
			r.ib.logger.ErrorContext(ctx, "inbox: returning a job claimed at shutdown", slog.Uint64("job", j.Lease.ID), slog.Any("err", err))
		}
	}
}

// purge forgets expired keys and dead letters every DefaultPurgeInterval.
func (r *runner) purge(ctx context.Context) {
	defer r.wg.Done()
	tick := time.NewTicker(DefaultPurgeInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := r.ib.Purge(ctx); err != nil && ctx.Err() == nil {
				r.ib.logger.ErrorContext(ctx, "inbox: purge failed", slog.Any("err", err))
			}
		}
	}
}

// settle runs a store call that settles a job, on a context that outlives
// Run's but is bounded.
func settle(ctx context.Context, call func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeCallTimeout)
	defer cancel()
	return call(ctx)
}

// work runs one claimed job and records its outcome. It reports whether
// that outcome made another job ready: the group's next, after a
// completion that found one or a dead letter.
func (r *runner) work(ctx context.Context, qj queue.Job) (more bool) {
	ib := r.ib
	log := ib.logger.With(slog.Uint64("job", qj.Lease.ID), slog.Int("attempt", qj.Attempt))
	dead := func(reason string) bool {
		if err := settle(ctx, func(ctx context.Context) error { return ib.store.Dead(ctx, qj.Lease, reason) }); err != nil {
			log.ErrorContext(ctx, "inbox: dead-lettering a job failed", slog.Any("err", err))
			return false
		}
		log.ErrorContext(ctx, "inbox: job dead-lettered", slog.String("reason", reason))
		return true
	}
	maxAttempts := ib.opts.MaxAttempts
	if qj.Attempt > maxAttempts {
		return dead(fmt.Sprintf("attempt %d never finished (the process died or lost the lease each time); last error: %s", qj.Attempt-1, qj.LastError))
	}
	if age := ib.opts.Now().Sub(qj.Accepted); age > ib.opts.MaxAge {
		return dead(fmt.Sprintf("accepted %v ago, past WeChat's 48-hour reply window", age.Round(time.Second)))
	}
	msg, err := decode(qj.Body)
	if err != nil {
		return dead(fmt.Sprintf("the stored message does not parse: %v", err))
	}
	job := &Job{Message: msg, Key: qj.Key, ID: qj.Lease.ID, Attempt: qj.Attempt, Accepted: qj.Accepted,
		LastError: qj.LastError, store: ib.store, lease: qj.Lease, steps: qj.Steps}

	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopRenew := r.keepLease(jobCtx, cancel, qj.Lease, log)
	err = call(jobCtx, r.fn, job, log)
	lost := stopRenew()
	switch {
	case lost:
		log.WarnContext(ctx, "inbox: the job's lease was lost; it runs again elsewhere", slog.Any("err", err))
	case err == nil:
		err := settle(ctx, func(ctx context.Context) error {
			var err error
			more, err = ib.store.Complete(ctx, qj.Lease)
			return err
		})
		if err != nil {
			log.ErrorContext(ctx, "inbox: completing a job failed; it will run again", slog.Any("err", err))
		}
	case r.stopping.Load():
		if err := settle(ctx, func(ctx context.Context) error { return ib.store.Return(ctx, qj.Lease) }); err != nil {
			log.ErrorContext(ctx, "inbox: returning a job at shutdown failed", slog.Any("err", err))
		}
	case isPermanent(err):
		return dead("permanent: " + err.Error())
	case qj.Attempt >= maxAttempts:
		return dead(err.Error())
	default:
		delay := ib.opts.Backoff(qj.Attempt)
		if serr := settle(ctx, func(ctx context.Context) error { return ib.store.Retry(ctx, qj.Lease, delay, err.Error()) }); serr != nil {
			log.ErrorContext(ctx, "inbox: scheduling a retry failed", slog.Any("err", serr))
			return false
		}
		log.WarnContext(ctx, "inbox: job failed, retrying", slog.Duration("delay", delay), slog.Any("err", err))
	}
	return more
}

// call runs fn, turning a panic into an error matching ErrPanic, and
// logging its stack.
func call(ctx context.Context, fn Func, job *Job, log *slog.Logger) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrPanic, p)
			log.ErrorContext(ctx, "inbox: job function panicked", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
		}
	}()
	return fn(ctx, job)
}

// keepLease renews l every third of the lease until stop is called, and
// cancels the job's context if a renewal fails. stop reports whether the
// lease was lost.
func (r *runner) keepLease(ctx context.Context, cancel context.CancelCauseFunc, l queue.Lease, log *slog.Logger) (stop func() bool) {
	done := make(chan struct{})
	finished := make(chan struct{})
	var lost bool
	go func() {
		defer close(finished)
		tick := time.NewTicker(max(r.ib.opts.Lease/3, time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				err := settle(ctx, func(sctx context.Context) error { return r.ib.store.Renew(sctx, l, r.ib.opts.Lease) })
				if err != nil {
					log.WarnContext(ctx, "inbox: renewing a job's lease failed; cancelling the job", slog.Any("err", err))
					lost = errors.Is(err, queue.ErrLeaseLost)
					cancel(fmt.Errorf("inbox: lease renewal failed: %w", err))
					return
				}
			}
		}
	}()
	return func() bool {
		close(done)
		<-finished
		return lost
	}
}

// DefaultBackoff is the delay after failed attempt n (from 1): 1s, 2s,
// 4s, ... at most a minute, each between half and all of that, at random.
func DefaultBackoff(n int) time.Duration {
	d := time.Minute
	if n < 1 {
		n = 1
	}
	if n < 7 {
		d = time.Second << (n - 1)
	}
	return d/2 + rand.N(d/2+1)
}
