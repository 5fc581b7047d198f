package inbox

import (
	"context"
	"fmt"

	"github.com/csmsg/csmsg/inbox/queue"
)

// The Inbox is a [csmsg.Deduper], so that its store is the Receiver's only
// dedup store: a push whose key the store holds (queued by Accept, or
// answered) is done, with the recorded answer, on any instance. Attempts
// in flight are claimed in this process's memory only: two instances may
// both run Accept for one push, and the store's atomic accept makes it one
// job.

// Acquire implements [csmsg.Deduper].
func (ib *Inbox) Acquire(ctx context.Context, key, owner string) ([]byte, bool, error) {
	answer, found, err := ib.store.Lookup(ctx, key)
	if err != nil {
		return nil, false, fmt.Errorf("inbox: looking a push up: %w", err)
	}
	if found {
		return answer, true, nil
	}
	return ib.claims.Acquire(ctx, key, owner)
}

// Extend implements [csmsg.Deduper].
func (ib *Inbox) Extend(ctx context.Context, key, owner string) error {
	return ib.claims.Extend(ctx, key, owner)
}

// Complete implements [csmsg.Deduper]: it records the answer with the key
// in the store, unless Accept recorded the key with a job already.
func (ib *Inbox) Complete(ctx context.Context, key, owner string, answer []byte) error {
	if err := ib.claims.Extend(ctx, key, owner); err != nil { // owner's claim?
		return err
	}
	// Accept recorded the key of a queued push: reading costs no commit.
	_, found, err := ib.store.Lookup(ctx, key)
	if err == nil && !found {
		_, err = ib.store.Accept(ctx, queue.Push{Key: key, Answer: answer})
	}
	if err != nil {
		return fmt.Errorf("inbox: recording an answer: %w", err)
	}
	return ib.claims.Complete(ctx, key, owner, answer)
}

// Release implements [csmsg.Deduper].
func (ib *Inbox) Release(ctx context.Context, key, owner string) error {
	return ib.claims.Release(ctx, key, owner)
}
