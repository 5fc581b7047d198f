package inbox

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox/queue"
)

// Func handles one job. A nil error completes it; an error (or a panic)
// retries it after a backoff, unless it is [Permanent]. Its context is
// cancelled when the job's lease is lost or, after the drain deadline,
// when Run stops.
type Func func(ctx context.Context, job *Job) error

// Job is one accepted push, run by [Inbox.Run].
type Job struct {
	// Message is the push.
	Message csmsg.Message
	// Key is its dedup key ([csmsg.DedupKey]).
	Key string
	// ID identifies the job in the store (and on dead letters).
	ID uint64
	// Attempt counts this job's attempts, this one included: 1 the first
	// time.
	Attempt int
	// Accepted is when the push was accepted.
	Accepted time.Time
	// LastError is the previous attempt's error, if any.
	LastError string

	store queue.Store
	lease queue.Lease

	mu    sync.Mutex
	steps map[string][]byte // recorded by earlier runs or this one
	used  map[string]bool   // names this run used
}

// Once runs the step name of the job at most once across its runs: the
// first time, it calls fn and records fn's result durably; a later run
// (after a crash, a retry or a revived dead letter) gets the recorded
// result without calling fn. So a re-run reuses the model's answer or an
// uploaded media id, and a reply sent inside Once is not sent again. An
// error from fn is returned and nothing is recorded: the next run calls fn
// again. A nil result comes back empty on later runs.
//
// The gap: a process that dies after fn's effect (a message sent) and
// before its record is durable runs fn again on the next run. Once cannot
// close that gap; it makes it as short as one store write.
//
// Calling Once twice with one name in one run is [ErrOnceRepeated]. A
// record refused because the job's lease was lost is [ErrLeaseLost]: the
// job runs again elsewhere, so return the error.
func (j *Job) Once(ctx context.Context, name string, fn func(ctx context.Context) ([]byte, error)) ([]byte, error) {
	j.mu.Lock()
	if j.used[name] {
		j.mu.Unlock()
		return nil, fmt.Errorf("%w: %q", ErrOnceRepeated, name)
	}
	if j.used == nil {
		j.used = map[string]bool{}
	}
	j.used[name] = true
	result, done := j.steps[name]
	j.mu.Unlock()
	if done {
		return bytes.Clone(result), nil
	}
	result, err := fn(ctx)
	if err != nil {
		return nil, err
	}
	err = settle(ctx, func(ctx context.Context) error { return j.store.SaveStep(ctx, j.lease, name, result) })
	if err != nil {
		return nil, fmt.Errorf("inbox: recording step %q: %w", name, err)
	}
	j.mu.Lock()
	if j.steps == nil {
		j.steps = map[string][]byte{}
	}
	j.steps[name] = bytes.Clone(result)
	j.mu.Unlock()
	return result, nil
}
