package inbox

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox/queue"
)

// The Inbox is a [csmsg.Deduper], so that its store is the Receiver's only
// dedup store: a push whose key the store holds (queued by Accept, or
// answered) is done, with the recorded answer, on any instance. Attempts
// in flight are claimed in this process's memory only: two instances may
// both run Accept for one push, and the store's atomic accept makes it one
// job. The store keeps a key for Options.KeyRetention after its
// acceptance, which covers every keep-until time the Receiver passes for
// a push accepted within its Tolerance; the keep-until times themselves
// are not stored.

// Acquire implements [csmsg.Deduper]: one read of the store.
func (ib *Inbox) Acquire(ctx context.Context, key, owner string, _ time.Time) ([]byte, bool, error) {
	answer, found, err := ib.store.Lookup(ctx, key)
	if err != nil {
		return nil, false, fmt.Errorf("inbox: looking a push up: %w", err)
	}
	if found {
		return answer, true, nil
	}
	answer, done, err := ib.claims.Acquire(ctx, key, owner, time.Time{})
	if err == nil && !done {
		ib.inflight.Store(key, new(atomic.Bool))
	}
	return answer, done, err
}

// Extend implements [csmsg.Deduper].
func (ib *Inbox) Extend(ctx context.Context, claims []csmsg.Claim) ([]csmsg.Claim, error) {
	return ib.claims.Extend(ctx, claims)
}

// Complete implements [csmsg.Deduper]: it records the answer with the key
// in the store, unless Accept recorded the key with a job already (then it
// costs the store nothing).
func (ib *Inbox) Complete(ctx context.Context, key, owner string, answer []byte, _ time.Time) error {
	lost, err := ib.claims.Extend(ctx, []csmsg.Claim{{Key: key, Owner: owner}}) // owner's claim?
	if err != nil {
		return err
	}
	if len(lost) != 0 {
		return csmsg.ErrNotOwner
	}
	if recorded, ok := ib.inflight.LoadAndDelete(key); !ok || !recorded.(*atomic.Bool).Load() {
		if _, err := ib.store.Accept(ctx, queue.Push{Key: key, Answer: answer}); err != nil {
			return fmt.Errorf("inbox: recording an answer: %w", err)
		}
	}
	return ib.claims.Complete(ctx, key, owner, answer, time.Time{})
}

// Release implements [csmsg.Deduper].
func (ib *Inbox) Release(ctx context.Context, key, owner string) error {
	ib.inflight.Delete(key)
	return ib.claims.Release(ctx, key, owner)
}
