package boltstore

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "inbox.db"), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func (s *Store) waitingWrites() int {
	s.commits.mu.Lock()
	defer s.commits.mu.Unlock()
	return len(s.commits.waiting)
}

// The writes that arrive while a commit is being written wait, and then
// share one transaction; a write whose function fails gets its own error,
// and the others of its transaction commit without it.
func TestGroupCommit(t *testing.T) {
	s := openTest(t)
	bucket := []byte("commit-test")
	require.NoError(t, s.db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucket); return err }))

	inside, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.batch(func(tx *bolt.Tx) error {
			close(inside)
			<-release // hold the commit while the others arrive
			return tx.Bucket(bucket).Put([]byte("first"), nil)
		})
	}()
	<-inside

	const n = 50
	boom := errors.New("boom")
	var mu sync.Mutex
	txs := map[int]map[*bolt.Tx]bool{} // the transactions each write's function ran in
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.batch(func(tx *bolt.Tx) error {
				mu.Lock()
				if txs[i] == nil {
					txs[i] = map[*bolt.Tx]bool{}
				}
				txs[i][tx] = true
				mu.Unlock()
				if err := tx.Bucket(bucket).Put([]byte(fmt.Sprint(i)), nil); err != nil {
					return err
				}
				if i == 7 {
					return boom
				}
				return nil
			})
		}()
	}
	require.Eventually(t, func() bool { return s.waitingWrites() == n }, 10*time.Second, time.Millisecond)
	close(release)
	require.NoError(t, <-first)
	wg.Wait()

	ranIn := map[*bolt.Tx]int{} // how many of the other writes ran in each transaction
	for i := range n {
		if i == 7 {
			assert.ErrorIs(t, errs[i], boom, "the failing write's own error")
			continue
		}
		assert.NoError(t, errs[i], "write %d", i)
		for tx := range txs[i] {
			ranIn[tx]++
		}
	}
	var counts []int
	for _, c := range ranIn {
		counts = append(counts, c)
	}
	assert.Contains(t, counts, n-1,
		"the 49 other writes committed in one transaction (after the one write 7 rolled back, if they ran in it)")
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		assert.NotNil(t, b.Get([]byte("first")))
		for i := range n {
			assert.Equal(t, i != 7, b.Get([]byte(fmt.Sprint(i))) != nil, "write %d", i)
		}
		return nil
	}))
	require.Eventually(t, func() bool {
		s.commits.mu.Lock()
		defer s.commits.mu.Unlock()
		return !s.commits.running && s.commits.waiting == nil
	}, 10*time.Second, time.Millisecond, "no goroutine stays when no write waits")
}

// A write after Close fails with bbolt's error, which the store's methods
// turn into queue.ErrClosed.
func TestGroupCommitAfterClose(t *testing.T) {
	s := openTest(t)
	require.NoError(t, s.Close())
	err := s.batch(func(*bolt.Tx) error { return nil })
	assert.ErrorIs(t, err, bolt.ErrDatabaseNotOpen)
}
