package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox/boltstore"
	"github.com/csmsg/csmsg/inbox/queue"
)

// Defaults of an Options' zero fields.
const (
	// DefaultWorkers is how many jobs run at once. Jobs mostly wait (on a
	// model, an API), and each job's completion waits for a store write
	// (on the file store, a shared commit), so throughput grows with
	// workers: lower it to bound the load on what the jobs call.
	DefaultWorkers      = 64
	DefaultLease        = 30 * time.Second
	DefaultMaxAttempts  = 8
	DefaultMaxAge       = 48 * time.Hour
	DefaultDrainTimeout = 10 * time.Second
	DefaultMaxJobs      = 100_000
	DefaultMaxBytes     = 256 << 20
	// DefaultKeyRetention keeps a handled push's key until no replay of it
	// can pass the Receiver's timestamp check. The Receiver keeps a push
	// until its signed timestamp + Tolerance + RetryWindow; a push is
	// accepted while its timestamp is within Tolerance of the clock either
	// way, and WeChat's retries carry timestamps up to RetryWindow later
	// than the first attempt's, so that is at most 2×Tolerance +
	// 2×RetryWindow after the first acceptance.
	DefaultKeyRetention  = 2*csmsg.DefaultTolerance + 2*csmsg.RetryWindow
	DefaultDeadRetention = 7 * 24 * time.Hour
	DefaultPollInterval  = 250 * time.Millisecond
	// DefaultPurgeInterval is how often Run forgets expired keys and dead
	// letters.
	DefaultPurgeInterval = time.Minute
)

// Options configure an [Inbox]. The zero value of every field is a safe
// default.
type Options struct {
	// Workers is how many jobs run at once, each of another group: 0
	// means DefaultWorkers. (In every field below, a negative value, where
	// it means nothing, is the default too.)
	Workers int

	// Lease is how long a job stays claimed by its worker unless renewed;
	// the worker renews it every third of it. A job whose worker or
	// process died runs again after it. 0 means DefaultLease.
	Lease time.Duration

	// MaxAttempts is how many attempts a job gets before it dead-letters;
	// an attempt is counted when it starts, so a job that kills its
	// process dead-letters too. 0 means DefaultMaxAttempts.
	MaxAttempts int

	// Backoff is the delay before attempt+1 after attempt failed; nil
	// means exponential from 1s, doubling, at most a minute, with jitter:
	// with the default MaxAttempts a failing job holds its user's later
	// messages for about two minutes at most.
	Backoff func(attempt int) time.Duration

	// MaxAge dead-letters a job accepted longer ago than this when it
	// would start: 0 means DefaultMaxAge, WeChat's 48-hour window for
	// replying to a user.
	MaxAge time.Duration

	// DrainTimeout is how long running jobs may finish when Run's context
	// ends, before their contexts are cancelled: 0 means
	// DefaultDrainTimeout.
	DrainTimeout time.Duration

	// MaxJobs and MaxBytes bound the waiting jobs and their messages'
	// bytes: past either, a push is refused with an error, so that the
	// Receiver answers an error status and WeChat retries. 0 means
	// DefaultMaxJobs and DefaultMaxBytes; a negative value, no bound.
	MaxJobs  int
	MaxBytes int64

	// KeyRetention is how long a handled push's key is kept after its
	// acceptance, so that a retry or a replay is not a second job: 0
	// means DefaultKeyRetention. It must cover the Receiver's replay
	// window: 2×Config.Tolerance + 2×csmsg.RetryWindow.
	KeyRetention time.Duration

	// DeadRetention is how long a dead letter is kept: 0 means
	// DefaultDeadRetention.
	DeadRetention time.Duration

	// PollInterval is how often an idle Run looks for jobs that became
	// ready (a backoff ended, a lease expired, another instance accepted):
	// 0 means DefaultPollInterval. Pushes accepted by this Inbox wake it at
	// once.
	PollInterval time.Duration

	// Fast, if set, may answer a push at once instead of queueing it,
	// without I/O: when it reports ok, its reply (nil for "success") is the
	// answer and no job is made. Use it for [csmsg.Transfer].
	Fast func(msg csmsg.Message) (reply *csmsg.Reply, ok bool)

	// Logger receives a line for each refused push, retry and dead letter;
	// nil means slog.Default(). No line holds a message.
	Logger *slog.Logger

	// Now is the clock that ages jobs (MaxAge, Stats); nil means
	// time.Now. Leases, backoffs and retention run on the store's clock.
	Now func() time.Time

	// LockTimeout is how long [Open] waits for another process to release
	// the file: 0 means boltstore.DefaultTimeout.
	LockTimeout time.Duration
}

// Inbox accepts pushes into a durable queue and runs them later, in order
// per user. Make one with [Open] or [New]. It is safe for concurrent use.
type Inbox struct {
	store  queue.Store
	opts   Options
	logger *slog.Logger
	claims *csmsg.MemoryDedup // the Deduper's in-flight claims
	// inflight holds, from Acquire to Complete or Release, each push whose
	// claim this Inbox took for the Receiver, with whether Accept recorded
	// it, so that Complete need not write it again.
	inflight sync.Map      // key → *atomic.Bool
	wake     chan struct{} // a job may be ready: a token wakes Run's dispatcher
	run      atomic.Bool   // Run is running
	close    sync.Once
}

// Open opens (or creates) the inbox file at path: a bbolt file, for a
// backend of one instance. See package boltstore for its durability, its
// lock and its growth.
func Open(path string, opts Options) (*Inbox, error) {
	store, err := boltstore.Open(path, boltstore.Options{Timeout: opts.LockTimeout})
	if err != nil {
		return nil, err
	}
	return New(store, opts), nil
}

// New returns an Inbox on store. The Inbox owns it: Close closes it.
func New(store queue.Store, opts Options) *Inbox {
	opts = withDefaults(opts)
	ib := &Inbox{store: store, opts: opts, logger: opts.Logger, wake: make(chan struct{}, 1)}
	ib.claims = &csmsg.MemoryDedup{TTL: csmsg.RetryWindow, Logger: ib.logger}
	return ib
}

// Close closes the store. Call it after Run returned: a Run still running
// ends with [ErrClosed], and the outcomes of its running jobs are lost
// (they run again after their leases).
func (ib *Inbox) Close() error {
	err := queue.ErrClosed
	ib.close.Do(func() { err = ib.store.Close() })
	return err
}

// Stats counts the inbox's jobs.
type Stats struct {
	Queued   int   // waiting, ready to run
	Retrying int   // waiting in backoff after a failed attempt
	Running  int   // running now, here or on another instance
	Dead     int   // dead letters
	Bytes    int64 // the waiting and running jobs' messages
	// OldestAge is how long the oldest job at a user's head has waited
	// since it was accepted: the longest any user is waiting.
	OldestAge time.Duration
}

// Stats counts the inbox's jobs.
func (ib *Inbox) Stats(ctx context.Context) (Stats, error) {
	st, err := ib.store.Stats(ctx)
	if err != nil {
		return Stats{}, err
	}
	out := Stats{Queued: st.Queued, Retrying: st.Retrying, Running: st.Running, Dead: st.Dead, Bytes: st.Bytes}
	if !st.Oldest.IsZero() {
		out.OldestAge = max(ib.opts.Now().Sub(st.Oldest), 0)
	}
	return out, nil
}

// DeadLetter is a job that failed for good: kept, with its message, for
// DeadRetention, to retry or drop.
type DeadLetter struct {
	ID       uint64        // for Retry and Drop
	Key      string        // the push's dedup key
	Message  csmsg.Message // nil if the stored message no longer parses
	Accepted time.Time     // when the push was accepted
	Died     time.Time     // when it was dead-lettered
	Attempts int           // the attempts it had
	Reason   string        // the last error, or why it was not retried
}

// DeadLetters returns up to max dead letters, oldest first.
func (ib *Inbox) DeadLetters(ctx context.Context, max int) ([]DeadLetter, error) {
	dl, err := ib.store.DeadLetters(ctx, max)
	if err != nil {
		return nil, err
	}
	out := make([]DeadLetter, 0, len(dl))
	for _, d := range dl {
		msg, _ := decode(d.Body)
		out = append(out, DeadLetter{ID: d.ID, Key: d.Key, Message: msg, Accepted: d.Accepted,
			Died: d.Died, Attempts: d.Attempts, Reason: d.Reason})
	}
	return out, nil
}

// Retry queues dead letter id again, after its user's waiting jobs, with
// fresh attempts; its Once records survive. An id that is no dead letter
// is [ErrNotFound].
func (ib *Inbox) Retry(ctx context.Context, id uint64) error {
	if err := ib.store.Revive(ctx, id); err != nil {
		return fmt.Errorf("inbox: retrying dead letter %d: %w", id, err)
	}
	ib.logger.InfoContext(ctx, "inbox: dead letter queued again", slog.Uint64("job", id))
	ib.notify()
	return nil
}

// Drop deletes dead letter id and its message. An id that is no dead
// letter is [ErrNotFound].
func (ib *Inbox) Drop(ctx context.Context, id uint64) error {
	if err := ib.store.Drop(ctx, id); err != nil {
		return fmt.Errorf("inbox: dropping dead letter %d: %w", id, err)
	}
	ib.logger.InfoContext(ctx, "inbox: dead letter dropped", slog.Uint64("job", id))
	return nil
}

// Purge forgets the keys past KeyRetention and the dead letters past
// DeadRetention now; Run does it every DefaultPurgeInterval.
func (ib *Inbox) Purge(ctx context.Context) error {
	p, err := ib.store.Purge(ctx, ib.opts.KeyRetention, ib.opts.DeadRetention)
	if err != nil {
		return fmt.Errorf("inbox: purging: %w", err)
	}
	if p.Dead > 0 {
		ib.logger.Info("inbox: dead letters purged", slog.Int("count", p.Dead))
	}
	return nil
}

// notify wakes Run's dispatcher.
func (ib *Inbox) notify() {
	select {
	case ib.wake <- struct{}{}:
	default:
	}
}

// withDefaults returns o with its defaults in place of zero (or
// meaningless negative) fields, and MaxJobs and MaxBytes as the store
// takes them: 0 for no bound.
func withDefaults(o Options) Options {
	positive(&o.Workers, DefaultWorkers)
	positive(&o.Lease, DefaultLease)
	positive(&o.MaxAttempts, DefaultMaxAttempts)
	positive(&o.MaxAge, DefaultMaxAge)
	positive(&o.DrainTimeout, DefaultDrainTimeout)
	positive(&o.KeyRetention, DefaultKeyRetention)
	positive(&o.DeadRetention, DefaultDeadRetention)
	positive(&o.PollInterval, DefaultPollInterval)
	o.MaxJobs = limit(o.MaxJobs, DefaultMaxJobs)
	o.MaxBytes = limit(o.MaxBytes, DefaultMaxBytes)
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// positive sets *v to def unless it is positive.
func positive[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// limit is a MaxJobs or MaxBytes for the store: 0 for no bound.
func limit[T int | int64](v, def T) T {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}
