package inbox

import (
	"errors"

	"github.com/csmsg/csmsg/inbox/queue"
)

// The errors of the inbox. The store's errors are re-exported, so that
// callers match them without importing package queue.
var (
	// ErrFull means a push was refused because the queue holds MaxJobs or
	// MaxBytes.
	ErrFull = queue.ErrFull

	// ErrLeaseLost means the job's lease expired or another worker took
	// the job: a Once step was not recorded, and the job will run again.
	ErrLeaseLost = queue.ErrLeaseLost

	// ErrClosed means the Inbox, and its store, was closed.
	ErrClosed = queue.ErrClosed

	// ErrNotFound means no such dead letter.
	ErrNotFound = queue.ErrNotFound

	// ErrOnceRepeated means a job's run called Once twice with one name.
	ErrOnceRepeated = errors.New("inbox: Once step name used twice in one run")

	// ErrRunning means Run was called while it is running.
	ErrRunning = errors.New("inbox: Run is already running")

	// ErrPanic matches the error of a job function that panicked.
	ErrPanic = errors.New("inbox: job function panicked")
)

// Permanent marks err as one that retrying cannot fix: a job that returns
// it dead-letters at once. A nil err is nil.
//
// An error of any package can say so itself with a method
// Permanent() bool, found through errors.As: the kf package's errors
// that no retry fixes do.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

type permanent struct{ err error }

func (p permanent) Error() string   { return p.err.Error() }
func (p permanent) Unwrap() error   { return p.err }
func (p permanent) Permanent() bool { return true }

// isPermanent reports whether err, or one it wraps, says it is permanent.
func isPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
