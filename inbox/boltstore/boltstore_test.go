package boltstore_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/csmsg/csmsg/inbox/boltstore"
	"github.com/csmsg/csmsg/inbox/queue"
	"github.com/csmsg/csmsg/inbox/storetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) queue.Store {
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "inbox.db"), boltstore.Options{Now: now})
		require.NoError(t, err)
		return s
	})
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "inbox.db")
	s, err := boltstore.Open(path, boltstore.Options{})
	require.NoError(t, err)
	defer s.Close()
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// A second opener (bbolt's flock is per open file, so this process
	// stands for another) waits Timeout, then fails clearly.
	start := time.Now()
	_, err = boltstore.Open(path, boltstore.Options{Timeout: 100 * time.Millisecond})
	assert.ErrorIs(t, err, boltstore.ErrLocked)
	assert.EqualError(t, err, "inbox: store file is in use by another process: "+path+", after 100ms")
	assert.Less(t, time.Since(start), 2*time.Second)

	_, err = boltstore.Open(filepath.Join(dir, "missing", "inbox.db"), boltstore.Options{})
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, "inbox: opening the store: ")
}

func TestFormatVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inbox.db")
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("version"), binary.BigEndian.AppendUint64(nil, 99))
	}))
	require.NoError(t, db.Close())
	_, err = boltstore.Open(path, boltstore.Options{})
	assert.ErrorIs(t, err, queue.ErrFormat)
	assert.EqualError(t, err, "inbox: store format not supported: "+path+" holds version 0000000000000063, this code reads 1")
}

func TestReopenAndCompact(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "inbox.db")
	ctx := context.Background()
	s, err := boltstore.Open(path, boltstore.Options{})
	require.NoError(t, err)
	for i := range 100 {
		_, err := s.Accept(ctx, queue.Push{Key: fmt.Sprint("k", i), Group: fmt.Sprint("g", i%3), Body: []byte("body")})
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())

	compact := filepath.Join(dir, "compact.db")
	require.NoError(t, boltstore.Compact(compact, path))
	for _, p := range []string{path, compact} {
		s, err := boltstore.Open(p, boltstore.Options{})
		require.NoError(t, err)
		st, err := s.Stats(ctx)
		require.NoError(t, err)
		assert.Equal(t, 100, st.Queued, p)
		a, err := s.Accept(ctx, queue.Push{Key: "k7", Group: "g1", Body: []byte("body")})
		require.NoError(t, err)
		assert.True(t, a.Duplicate, p)
		jobs, err := s.Claim(ctx, 10, time.Minute)
		require.NoError(t, err)
		assert.Equal(t, []string{"k0", "k1", "k2"}, []string{jobs[0].Key, jobs[1].Key, jobs[2].Key})
		require.NoError(t, s.Close())
	}
}

// BenchmarkAccept accepts pushes of 200 bytes from parallel goroutines,
// each committed and fsynced (in shared commits) before it returns.
func BenchmarkAccept(b *testing.B) {
	s, err := boltstore.Open(filepath.Join(b.TempDir(), "inbox.db"), boltstore.Options{})
	require.NoError(b, err)
	defer s.Close()
	body := make([]byte, 200)
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := s.Accept(context.Background(), queue.Push{Key: fmt.Sprint("k", i), Group: fmt.Sprint("g", i%200), Body: body}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
