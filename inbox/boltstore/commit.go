package boltstore

import (
	"runtime"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Group commit. The store's concurrent writes (accepts, claims, and the
// calls on a lease) share transactions: while one commits and fsyncs,
// the writes that arrive wait, and then commit together in the next, at
// once. An idle store commits a write alone without waiting; a busy one
// commits back to back, as many writes a commit as came during the last.
// (bbolt's DB.Batch instead waits a fixed delay for each batch to fill,
// which an accept pays in its answer time even when the disk is idle.)

// maxGroup is the most writes one commit carries.
const maxGroup = 1000

// write is one call's change, waiting for a commit.
type write struct {
	fn   func(*bolt.Tx) error
	done chan error // buffered: the committer never waits for the caller
}

// committer gathers a Store's writes. Its zero value is ready; it keeps
// no goroutine while no write waits.
type committer struct {
	mu      sync.Mutex
	waiting []*write
	running bool // a goroutine is committing
}

// batch runs fn in a transaction shared with other writes, and returns
// once that transaction is committed (fsynced) or failed. fn may run more
// than once, on a fresh transaction each time (when another write of its
// transaction failed), so it must set its outcome afresh each time.
func (s *Store) batch(fn func(*bolt.Tx) error) error {
	w := &write{fn: fn, done: make(chan error, 1)}
	c := &s.commits
	c.mu.Lock()
	c.waiting = append(c.waiting, w)
	if !c.running {
		c.running = true
		go s.commitWaiting()
	}
	c.mu.Unlock()
	return <-w.done
}

// commitWaiting commits the waiting writes, up to maxGroup a transaction,
// until none waits.
func (s *Store) commitWaiting() {
	c := &s.commits
	for {
		runtime.Gosched() // let the writes whose goroutines are runnable join
		c.mu.Lock()
		n := min(len(c.waiting), maxGroup)
		if n == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		group := c.waiting[:n:n]
		c.waiting = c.waiting[n:]
		if len(c.waiting) == 0 {
			c.waiting = nil
		}
		c.mu.Unlock()
		s.commitGroup(group)
	}
}

// commitGroup runs group's writes in one transaction. When one's function
// fails, the transaction is rolled back, that write is run alone (so that
// its error is its own), and the others are run again without it.
func (s *Store) commitGroup(group []*write) {
	for len(group) > 0 {
		failed := -1
		err := s.db.Update(func(tx *bolt.Tx) error {
			for i, w := range group {
				if err := w.fn(tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, w := range group {
				w.done <- err
			}
			return
		}
		w := group[failed]
		group = append(group[:failed:failed], group[failed+1:]...)
		w.done <- s.db.Update(w.fn)
	}
}
