// Package queue defines the [Store] an inbox keeps its pushes in: a
// durable queue with per-group order, leases with fencing tokens, attempts,
// dead letters, Once records and dedup keys. It imports no store, so that a
// store in another module (Redis, say) implements it, and runs the
// conformance suite of package storetest, without building bbolt.
//
// Package inbox drives a Store; users rarely call one directly.
package queue

import (
	"context"
	"errors"
	"time"
)

// Store is a durable queue of accepted pushes. Implementations must be
// safe for concurrent use; each method is atomic.
//
// A job belongs to a group (the inbox's group is the mini program and the
// user). A group's jobs run one at a time in accept order: only the head of
// a group can be claimed, and the head changes only when its job is
// completed or dead-lettered. Time (leases, backoff, retention) runs on the
// store's clock.
type Store interface {
	// Accept records p.Key, and enqueues p.Body as a job at the tail of
	// p.Group when p.Body is not nil, atomically: a key already recorded
	// answers Duplicate with the answer recorded for it, and changes
	// nothing. A job beyond p.MaxJobs or p.MaxBytes waiting jobs is
	// [ErrFull]. Success means the record is durable.
	Accept(ctx context.Context, p Push) (Accepted, error)

	// Lookup reports whether key is recorded, and the answer recorded with
	// it.
	Lookup(ctx context.Context, key string) (answer []byte, found bool, err error)

	// Claim leases the heads of up to max groups that are ready (not in
	// backoff, not leased, or whose lease expired), counting an attempt of
	// each durably, and returns them with a fresh fencing token each.
	Claim(ctx context.Context, max int, lease time.Duration) ([]Job, error)

	// Renew extends l for another lease. The calls on a lease are
	// [ErrLeaseLost] once it expired or another claim took the job.
	Renew(ctx context.Context, l Lease, lease time.Duration) error

	// Complete removes l's job, its body and its Once records; its key
	// stays for the key retention. The group's next job becomes ready:
	// next reports whether the group has one, so that a caller need not
	// claim after each completion to find out.
	Complete(ctx context.Context, l Lease) (next bool, err error)

	// Retry leaves l's job at its group's head, ready again after delay,
	// with lastErr kept.
	Retry(ctx context.Context, l Lease, delay time.Duration, lastErr string) error

	// Return gives l's job back, ready at once, without counting the
	// attempt Claim counted: for a shutdown.
	Return(ctx context.Context, l Lease) error

	// Dead moves l's job to the dead letters with reason, keeping its body
	// and Once records; the group's next job becomes ready.
	Dead(ctx context.Context, l Lease, reason string) error

	// SaveStep records the result of l's job's Once step name.
	SaveStep(ctx context.Context, l Lease, name string, result []byte) error

	// DeadLetters returns up to max dead letters, oldest death first.
	DeadLetters(ctx context.Context, max int) ([]DeadLetter, error)

	// Revive moves dead letter id to the tail of its group, with its
	// attempts reset and its Once records kept. An id that is no dead
	// letter is [ErrNotFound].
	Revive(ctx context.Context, id uint64) error

	// Drop deletes dead letter id with its body and Once records; its key
	// stays for the key retention. An id that is no dead letter is
	// [ErrNotFound].
	Drop(ctx context.Context, id uint64) error

	// Purge forgets the keys accepted more than keyRetention ago whose job
	// is gone (completed or dropped), and the dead letters that died more
	// than deadRetention ago.
	Purge(ctx context.Context, keyRetention, deadRetention time.Duration) (Purged, error)

	// Stats counts the jobs.
	Stats(ctx context.Context) (Stats, error)

	// Close releases the store.
	Close() error
}

// Push is what [Store.Accept] records.
type Push struct {
	Key   string // the dedup key
	Group string // the group of the job
	Body  []byte // the job's message; nil records the key alone
	// Answer is the answer recorded with a key alone (Body nil): nil for
	// "success".
	Answer []byte
	// MaxJobs and MaxBytes bound the waiting jobs (not the dead letters)
	// and their bodies; 0 means no bound.
	MaxJobs  int
	MaxBytes int64
}

// Accepted is the outcome of [Store.Accept].
type Accepted struct {
	// Duplicate reports that the key was already recorded: nothing changed.
	Duplicate bool
	// Answer is the answer recorded with the key, when Duplicate.
	Answer []byte
	// ID is the new job's id, when a job was enqueued.
	ID uint64
}

// Lease is a claim on one job: its id and the fencing token of the claim.
type Lease struct {
	ID    uint64 // the job's id, unique in the store
	Token uint64 // the fencing token, larger for each later claim
}

// Job is a claimed job.
type Job struct {
	Lease    Lease     // the claim
	Key      string    // the dedup key it was accepted with
	Group    string    // its group
	Body     []byte    // the message
	Accepted time.Time // when Accept recorded it
	// Attempt counts the attempts started, this one included.
	Attempt int
	// LastError is the error of the previous attempt, if any.
	LastError string
	// Steps are the recorded Once results, by name.
	Steps map[string][]byte
}

// DeadLetter is a job that will not run again unless revived.
type DeadLetter struct {
	ID       uint64    // the job's id
	Key      string    // the dedup key it was accepted with
	Group    string    // its group
	Body     []byte    // the message
	Accepted time.Time // when Accept recorded it
	Died     time.Time // when it was dead-lettered
	Attempts int       // the attempts it had
	Reason   string    // why: the last error, or why it was not retried
}

// Stats counts a store's jobs. Queued, Retrying and Running are disjoint.
type Stats struct {
	Queued   int   // waiting, ready to run
	Retrying int   // waiting in backoff after a failed attempt
	Running  int   // leased
	Dead     int   // dead letters
	Bytes    int64 // bodies of the waiting and running jobs
	// Oldest is when the oldest job at a group's head was accepted (the
	// longest any user has waited); zero with none.
	Oldest time.Time
}

// Purged counts what [Store.Purge] forgot.
type Purged struct {
	Keys int
	Dead int
}

// The errors of a Store.
var (
	// ErrLeaseLost means a lease expired or another claim took its job:
	// the caller must not act on the job any more.
	ErrLeaseLost = errors.New("inbox: lease lost")

	// ErrFull means the queue holds its maximum of jobs or bytes.
	ErrFull = errors.New("inbox: queue full")

	// ErrNotFound means no such dead letter.
	ErrNotFound = errors.New("inbox: no such job")

	// ErrFormat means a store holds data of another format version.
	ErrFormat = errors.New("inbox: store format not supported")

	// ErrClosed means the store was closed.
	ErrClosed = errors.New("inbox: store closed")
)
