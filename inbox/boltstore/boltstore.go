// Package boltstore is the file [queue.Store] of an inbox of one instance,
// on go.etcd.io/bbolt: package inbox's Open uses it.
//
// # Durability
//
// Every change is committed and fsynced before its call returns, so an
// accepted push survives a crash or a power cut once Accept has answered.
// Concurrent writes (accepts, claims, completions) are committed together,
// one commit for all that arrived while the previous one was being
// written (see commit.go): an idle store commits an accept at once.
//
// # One process
//
// bbolt locks the file: a second process opening it waits up to
// Options.Timeout and then gets [ErrLocked], not a hang. The file is made
// with mode 0600: it holds users' decrypted messages.
//
// # Growth and compaction
//
// The file grows to hold the largest queue it has held, plus the keys kept
// for the replay window (about 700 bytes a push: 50,000 keys made a file
// of 33 MB; at 100 pushes a second and the inbox's default retention of
// about ten minutes, some 40 MB)
// and the dead letters, and never shrinks by itself:
// bbolt reuses freed pages but does not return them to the filesystem. A
// queue that once held a million waiting pushes keeps its size after they
// are handled. To shrink it, stop the process and call [Compact] (or run
// `bbolt compact`), then move the new file over the old.
//
// # Layout
//
// The format version is stored in bucket "meta" and checked at open. Bucket
// "jobs" holds each job by id; "queue" each group's jobs in accept order;
// "ready" one entry per group head, keyed by the time it may be claimed
// (its acceptance, its backoff's end or its lease's end), so that a claim
// reads only the heads that are ready; "keys" the dedup keys and
// "keytimes" them by acceptance, for purging; "dead" the dead letters by
// death; "steps" the Once records.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/csmsg/csmsg/inbox/queue"
)

// FormatVersion is the version of the file's layout, stored in it and
// checked at open.
const FormatVersion = 1

// DefaultTimeout is how long Open waits for another process to release
// the file.
const DefaultTimeout = 2 * time.Second

// ErrLocked means another process holds the file.
var ErrLocked = errors.New("inbox: store file is in use by another process")

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Timeout is how long Open waits for another process to release the
	// file: 0 means DefaultTimeout.
	Timeout time.Duration

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store is the bbolt [queue.Store]. Make one with [Open].
type Store struct {
	db      *bolt.DB
	now     func() time.Time
	commits committer // the writes waiting for a shared commit (commit.go)
}

var (
	bucketMeta     = []byte("meta")
	bucketJobs     = []byte("jobs")
	bucketQueue    = []byte("queue")
	bucketReady    = []byte("ready")
	bucketKeys     = []byte("keys")
	bucketKeyTimes = []byte("keytimes")
	bucketDead     = []byte("dead")
	bucketSteps    = []byte("steps")
	allBuckets     = [][]byte{bucketMeta, bucketJobs, bucketQueue, bucketReady, bucketKeys, bucketKeyTimes, bucketDead, bucketSteps}

	metaVersion = []byte("version")
	metaToken   = []byte("token") // the last fencing token
	metaSeq     = []byte("seq")   // the last queue position
	metaLive    = []byte("live")  // jobs in groups
	metaBytes   = []byte("bytes") // their bodies
	metaDead    = []byte("dead")  // dead letters
)

// Open opens or creates the store file at path.
func Open(path string, opts Options) (*Store, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s, after %v", ErrLocked, path, timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("inbox: opening the store: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(metaVersion); {
		case v == nil:
			return meta.Put(metaVersion, u64(FormatVersion))
		case len(v) != 8 || binary.BigEndian.Uint64(v) != FormatVersion:
			return fmt.Errorf("%w: %s holds version %x, this code reads %d", queue.ErrFormat, path, v, FormatVersion)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}, nil
}

// Compact copies the store file at src into a new, compact file at dst.
// Neither may be open.
func Compact(dst, src string) error {
	from, err := bolt.Open(src, 0o600, &bolt.Options{Timeout: DefaultTimeout, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("inbox: compacting: %w", err)
	}
	defer from.Close()
	to, err := bolt.Open(dst, 0o600, &bolt.Options{Timeout: DefaultTimeout})
	if err != nil {
		return fmt.Errorf("inbox: compacting: %w", err)
	}
	if err := bolt.Compact(to, from, 0); err != nil {
		to.Close()
		return fmt.Errorf("inbox: compacting: %w", err)
	}
	return to.Close()
}

// Close implements [queue.Store].
func (s *Store) Close() error { return s.db.Close() }

// update runs fn in a read-write transaction, committed and fsynced.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	err := s.db.Update(fn)
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return queue.ErrClosed
	}
	return err
}

func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	err := s.db.View(fn)
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return queue.ErrClosed
	}
	return err
}

// The records, in JSON.

type keyRec struct {
	Accepted int64  `json:"a"`           // unix nanoseconds
	Job      uint64 `json:"j,omitempty"` // 0 with none
	Answer   []byte `json:"n,omitempty"`
	// Unindexed is set when a purge found the key's job still live and
	// took the key out of keytimes: the job's end puts it back.
	Unindexed bool `json:"u,omitempty"`
}

type jobRec struct {
	Key       string `json:"k"`
	Group     string `json:"g"`
	Body      []byte `json:"b"`
	Accepted  int64  `json:"a"`
	Attempts  int    `json:"n,omitempty"`
	Token     uint64 `json:"t,omitempty"`
	Leased    int64  `json:"l,omitempty"` // the lease's end; 0 when not leased
	Ready     []byte `json:"r,omitempty"` // its key in ready, when a head
	Queued    []byte `json:"q,omitempty"` // its key in queue, unless dead
	LastError string `json:"e,omitempty"`
	Died      int64  `json:"d,omitempty"` // when dead
	Reason    string `json:"w,omitempty"`
}

// tx is one transaction's view of the store.
type tx struct {
	*bolt.Tx
	now int64
}

func u64(v uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, v)
}

func getU64(b *bolt.Bucket, k []byte) uint64 {
	if v := b.Get(k); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// add adds d to counter k of meta.
func (t tx) add(k []byte, d int64) error {
	meta := t.Bucket(bucketMeta)
	return meta.Put(k, u64(uint64(int64(getU64(meta, k))+d)))
}

// next returns the next value of counter k of meta.
func (t tx) next(k []byte) (uint64, error) {
	meta := t.Bucket(bucketMeta)
	v := getU64(meta, k) + 1
	return v, meta.Put(k, u64(v))
}

func (t tx) job(id uint64) (*jobRec, error) {
	v := t.Bucket(bucketJobs).Get(u64(id))
	if v == nil {
		return nil, nil
	}
	j := new(jobRec)
	if err := json.Unmarshal(v, j); err != nil {
		return nil, fmt.Errorf("inbox: job %d: %w", id, err)
	}
	return j, nil
}

func (t tx) putJob(id uint64, j *jobRec) error {
	v, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return t.Bucket(bucketJobs).Put(u64(id), v)
}

func (t tx) key(k string) (*keyRec, error) {
	v := t.Bucket(bucketKeys).Get([]byte(k))
	if v == nil {
		return nil, nil
	}
	r := new(keyRec)
	if err := json.Unmarshal(v, r); err != nil {
		return nil, fmt.Errorf("inbox: a key record: %w", err)
	}
	return r, nil
}

func (t tx) putKey(k string, r *keyRec) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return t.Bucket(bucketKeys).Put([]byte(k), v)
}

// timeKey is a key of ready, dead or keytimes: a time, then rest.
func timeKey(at int64, rest []byte) []byte {
	return append(u64(uint64(at)), rest...)
}

// groupPrefix is the prefix of a group's keys in queue.
func groupPrefix(group string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(group))), group...)
}

// Kinds of ready entries, the first byte of their value.
const (
	readyWaiting = 'w'
	readyBackoff = 'b'
	readyRunning = 'r'
)

// setReady makes j, job id, its group's head, claimable from at.
func (t tx) setReady(id uint64, j *jobRec, at int64, kind byte) error {
	ready := t.Bucket(bucketReady)
	if j.Ready != nil {
		if err := ready.Delete(j.Ready); err != nil {
			return err
		}
	}
	j.Ready = timeKey(at, u64(id))
	return ready.Put(j.Ready, append([]byte{kind}, u64(uint64(j.Accepted))...))
}

// enqueue puts j, job id, at its group's tail, the head if the group was
// empty.
func (t tx) enqueue(id uint64, j *jobRec) error {
	seq, err := t.next(metaSeq)
	if err != nil {
		return err
	}
	prefix := groupPrefix(j.Group)
	q := t.Bucket(bucketQueue)
	if k, _ := q.Cursor().Seek(prefix); k == nil || !bytes.HasPrefix(k, prefix) {
		if err := t.setReady(id, j, j.Accepted, readyWaiting); err != nil {
			return err
		}
	}
	j.Queued = append(prefix, u64(seq)...)
	if err := q.Put(j.Queued, u64(id)); err != nil {
		return err
	}
	if err := t.add(metaLive, 1); err != nil {
		return err
	}
	return t.add(metaBytes, int64(len(j.Body)))
}

// unqueue takes j, its group's head, out of the group, and makes the
// group's next job its head: next reports whether there is one.
func (t tx) unqueue(j *jobRec) (next bool, err error) {
	q := t.Bucket(bucketQueue)
	if err := q.Delete(j.Queued); err != nil {
		return false, err
	}
	if err := t.Bucket(bucketReady).Delete(j.Ready); err != nil {
		return false, err
	}
	j.Queued, j.Ready = nil, nil
	if err := t.add(metaLive, -1); err != nil {
		return false, err
	}
	if err := t.add(metaBytes, -int64(len(j.Body))); err != nil {
		return false, err
	}
	prefix := groupPrefix(j.Group)
	k, v := q.Cursor().Seek(prefix)
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return false, nil
	}
	nextID := binary.BigEndian.Uint64(v)
	nj, err := t.job(nextID)
	if err != nil || nj == nil {
		return false, fmt.Errorf("inbox: job %d of a group is missing: %w", nextID, err)
	}
	if err := t.setReady(nextID, nj, nj.Accepted, readyWaiting); err != nil {
		return false, err
	}
	return true, t.putJob(nextID, nj)
}

// forget deletes job id, gone for good, with its steps, and starts its
// key's retention if a purge had to skip it.
func (t tx) forget(id uint64, j *jobRec) error {
	if err := t.Bucket(bucketJobs).Delete(u64(id)); err != nil {
		return err
	}
	steps := t.Bucket(bucketSteps)
	prefix := u64(id)
	c := steps.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := steps.Delete(k); err != nil {
			return err
		}
	}
	r, err := t.key(j.Key)
	if err != nil || r == nil || r.Job != id {
		return err
	}
	r.Job = 0
	if r.Unindexed {
		r.Unindexed, r.Accepted = false, t.now
		if err := t.Bucket(bucketKeyTimes).Put(timeKey(r.Accepted, []byte(j.Key)), nil); err != nil {
			return err
		}
	}
	return t.putKey(j.Key, r)
}

// Accept implements [queue.Store]. Accepts are committed in batches; the
// function may run more than once, so it only reads the transaction and
// sets its outcome afresh.
func (s *Store) Accept(_ context.Context, p queue.Push) (queue.Accepted, error) {
	var out queue.Accepted
	var refused error
	err := s.batch(func(btx *bolt.Tx) error {
		out, refused = queue.Accepted{}, nil
		t := tx{btx, s.now().UnixNano()}
		r, err := t.key(p.Key)
		if err != nil {
			return err
		}
		if r != nil {
			out = queue.Accepted{Duplicate: true, Answer: bytes.Clone(r.Answer)}
			return nil
		}
		r = &keyRec{Accepted: t.now, Answer: p.Answer}
		if p.Body != nil {
			meta := t.Bucket(bucketMeta)
			if (p.MaxJobs > 0 && getU64(meta, metaLive) >= uint64(p.MaxJobs)) ||
				(p.MaxBytes > 0 && int64(getU64(meta, metaBytes))+int64(len(p.Body)) > p.MaxBytes) {
				refused = queue.ErrFull
				return nil
			}
			id, err := t.Bucket(bucketJobs).NextSequence()
			if err != nil {
				return err
			}
			j := &jobRec{Key: p.Key, Group: p.Group, Body: p.Body, Accepted: t.now}
			if err := t.enqueue(id, j); err != nil {
				return err
			}
			if err := t.putJob(id, j); err != nil {
				return err
			}
			r.Answer, r.Job, out.ID = nil, id, id
		}
		if err := t.Bucket(bucketKeyTimes).Put(timeKey(t.now, []byte(p.Key)), nil); err != nil {
			return err
		}
		return t.putKey(p.Key, r)
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return queue.Accepted{}, queue.ErrClosed
	}
	if err == nil {
		err = refused
	}
	if err != nil {
		return queue.Accepted{}, err
	}
	return out, nil
}

// Lookup implements [queue.Store].
func (s *Store) Lookup(_ context.Context, key string) ([]byte, bool, error) {
	var answer []byte
	var found bool
	err := s.view(func(btx *bolt.Tx) error {
		r, err := tx{btx, 0}.key(key)
		if r != nil {
			answer, found = r.Answer, true
		}
		return err
	})
	return answer, found, err
}

// Claim implements [queue.Store].
func (s *Store) Claim(_ context.Context, max int, lease time.Duration) ([]queue.Job, error) {
	var out []queue.Job
	if ready, err := s.anyReady(); !ready || err != nil {
		return nil, err // an idle poll costs no commit
	}
	// Claims of many workers share a commit: fn may run more than once, on
	// a fresh transaction each time.
	err := s.batch(func(btx *bolt.Tx) error {
		out = nil
		t := tx{btx, s.now().UnixNano()}
		var ids []uint64
		c := t.Bucket(bucketReady).Cursor()
		for k, _ := c.First(); k != nil && len(ids) < max; k, _ = c.Next() {
			if int64(binary.BigEndian.Uint64(k)) > t.now {
				break
			}
			ids = append(ids, binary.BigEndian.Uint64(k[8:]))
		}
		for _, id := range ids {
			j, err := t.job(id)
			if err != nil || j == nil {
				return fmt.Errorf("inbox: a ready job %d is missing: %w", id, err)
			}
			if j.Token, err = t.next(metaToken); err != nil {
				return err
			}
			j.Attempts++
			j.Leased = t.now + int64(lease)
			if err := t.setReady(id, j, j.Leased, readyRunning); err != nil {
				return err
			}
			if err := t.putJob(id, j); err != nil {
				return err
			}
			steps := map[string][]byte{}
			prefix := u64(id)
			sc := t.Bucket(bucketSteps).Cursor()
			for k, v := sc.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = sc.Next() {
				steps[string(k[8:])] = bytes.Clone(v)
			}
			out = append(out, queue.Job{
				Lease: queue.Lease{ID: id, Token: j.Token}, Key: j.Key, Group: j.Group, Body: j.Body,
				Accepted: fromNanos(j.Accepted), Attempt: j.Attempts, LastError: j.LastError, Steps: steps,
			})
		}
		return nil
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return nil, queue.ErrClosed
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// anyReady reports whether a group's head may be claimed now.
func (s *Store) anyReady() (bool, error) {
	var ready bool
	err := s.view(func(btx *bolt.Tx) error {
		k, _ := btx.Bucket(bucketReady).Cursor().First()
		ready = k != nil && int64(binary.BigEndian.Uint64(k)) <= s.now().UnixNano()
		return nil
	})
	return ready, err
}

// held runs fn on l's job, if l is still its live lease. The calls of
// many workers share a commit, like accepts: fn may run more than once, on
// a fresh transaction each time.
func (s *Store) held(l queue.Lease, fn func(t tx, j *jobRec) error) error {
	var lost error
	err := s.batch(func(btx *bolt.Tx) error {
		lost = nil
		t := tx{btx, s.now().UnixNano()}
		j, err := t.job(l.ID)
		if err != nil {
			return err
		}
		if j == nil || j.Died != 0 || j.Token != l.Token || j.Leased <= t.now {
			lost = queue.ErrLeaseLost // not an error of the batch's commit
			return nil
		}
		return fn(t, j)
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return queue.ErrClosed
	}
	if err == nil {
		err = lost
	}
	return err
}

// Renew implements [queue.Store].
func (s *Store) Renew(_ context.Context, l queue.Lease, lease time.Duration) error {
	return s.held(l, func(t tx, j *jobRec) error {
		j.Leased = t.now + int64(lease)
		if err := t.setReady(l.ID, j, j.Leased, readyRunning); err != nil {
			return err
		}
		return t.putJob(l.ID, j)
	})
}

// Complete implements [queue.Store].
func (s *Store) Complete(_ context.Context, l queue.Lease) (next bool, err error) {
	err = s.held(l, func(t tx, j *jobRec) error {
		var err error
		if next, err = t.unqueue(j); err != nil { // a batch may run this twice: next is set afresh
			return err
		}
		return t.forget(l.ID, j)
	})
	return next && err == nil, err
}

// Retry implements [queue.Store].
func (s *Store) Retry(_ context.Context, l queue.Lease, delay time.Duration, lastErr string) error {
	return s.held(l, func(t tx, j *jobRec) error {
		j.Leased, j.LastError = 0, lastErr
		if err := t.setReady(l.ID, j, t.now+int64(delay), readyBackoff); err != nil {
			return err
		}
		return t.putJob(l.ID, j)
	})
}

// Return implements [queue.Store].
func (s *Store) Return(_ context.Context, l queue.Lease) error {
	return s.held(l, func(t tx, j *jobRec) error {
		j.Leased = 0
		j.Attempts--
		if err := t.setReady(l.ID, j, t.now, readyWaiting); err != nil {
			return err
		}
		return t.putJob(l.ID, j)
	})
}

// Dead implements [queue.Store].
func (s *Store) Dead(_ context.Context, l queue.Lease, reason string) error {
	return s.held(l, func(t tx, j *jobRec) error {
		if _, err := t.unqueue(j); err != nil {
			return err
		}
		j.Leased, j.Died, j.Reason = 0, t.now, reason
		if err := t.Bucket(bucketDead).Put(timeKey(j.Died, u64(l.ID)), nil); err != nil {
			return err
		}
		if err := t.add(metaDead, 1); err != nil {
			return err
		}
		return t.putJob(l.ID, j)
	})
}

// SaveStep implements [queue.Store].
func (s *Store) SaveStep(_ context.Context, l queue.Lease, name string, result []byte) error {
	return s.held(l, func(t tx, _ *jobRec) error {
		if result == nil {
			result = []byte{}
		}
		return t.Bucket(bucketSteps).Put(append(u64(l.ID), name...), result)
	})
}

// DeadLetters implements [queue.Store].
func (s *Store) DeadLetters(_ context.Context, max int) ([]queue.DeadLetter, error) {
	var out []queue.DeadLetter
	err := s.view(func(btx *bolt.Tx) error {
		t := tx{btx, 0}
		c := t.Bucket(bucketDead).Cursor()
		for k, _ := c.First(); k != nil && len(out) < max; k, _ = c.Next() {
			id := binary.BigEndian.Uint64(k[8:])
			j, err := t.job(id)
			if err != nil || j == nil {
				return fmt.Errorf("inbox: dead letter %d is missing: %w", id, err)
			}
			out = append(out, queue.DeadLetter{ID: id, Key: j.Key, Group: j.Group, Body: j.Body,
				Accepted: fromNanos(j.Accepted), Died: fromNanos(j.Died), Attempts: j.Attempts, Reason: j.Reason})
		}
		return nil
	})
	return out, err
}

// dead runs fn on dead letter id, after taking it out of the dead letters.
func (s *Store) dead(id uint64, fn func(t tx, j *jobRec) error) error {
	return s.update(func(btx *bolt.Tx) error {
		t := tx{btx, s.now().UnixNano()}
		j, err := t.job(id)
		if err != nil {
			return err
		}
		if j == nil || j.Died == 0 {
			return queue.ErrNotFound
		}
		if err := t.Bucket(bucketDead).Delete(timeKey(j.Died, u64(id))); err != nil {
			return err
		}
		if err := t.add(metaDead, -1); err != nil {
			return err
		}
		return fn(t, j)
	})
}

// Revive implements [queue.Store].
func (s *Store) Revive(_ context.Context, id uint64) error {
	return s.dead(id, func(t tx, j *jobRec) error {
		j.Died, j.Reason, j.Attempts, j.LastError = 0, "", 0, ""
		if err := t.enqueue(id, j); err != nil {
			return err
		}
		return t.putJob(id, j)
	})
}

// Drop implements [queue.Store].
func (s *Store) Drop(_ context.Context, id uint64) error {
	return s.dead(id, func(t tx, j *jobRec) error { return t.forget(id, j) })
}

// Purge implements [queue.Store].
func (s *Store) Purge(_ context.Context, keyRetention, deadRetention time.Duration) (queue.Purged, error) {
	var p queue.Purged
	err := s.update(func(btx *bolt.Tx) error {
		p = queue.Purged{}
		t := tx{btx, s.now().UnixNano()}
		var dead []uint64
		c := t.Bucket(bucketDead).Cursor()
		for k, _ := c.First(); k != nil && int64(binary.BigEndian.Uint64(k)) <= t.now-int64(deadRetention); k, _ = c.Next() {
			dead = append(dead, binary.BigEndian.Uint64(k[8:]))
		}
		for _, id := range dead {
			if err := s.dropIn(t, id); err != nil {
				return err
			}
			p.Dead++
		}
		var old [][]byte
		times := t.Bucket(bucketKeyTimes)
		c = times.Cursor()
		for k, _ := c.First(); k != nil && int64(binary.BigEndian.Uint64(k)) <= t.now-int64(keyRetention); k, _ = c.Next() {
			old = append(old, bytes.Clone(k))
		}
		keys := t.Bucket(bucketKeys)
		for _, k := range old {
			if err := times.Delete(k); err != nil {
				return err
			}
			name := string(k[8:])
			r, err := t.key(name)
			if err != nil || r == nil {
				continue
			}
			if r.Job != 0 { // still live: its end starts the retention
				r.Unindexed = true
				if err := t.putKey(name, r); err != nil {
					return err
				}
				continue
			}
			if err := keys.Delete([]byte(name)); err != nil {
				return err
			}
			p.Keys++
		}
		return nil
	})
	return p, err
}

// dropIn drops dead letter id inside t.
func (s *Store) dropIn(t tx, id uint64) error {
	j, err := t.job(id)
	if err != nil || j == nil {
		return err
	}
	if err := t.Bucket(bucketDead).Delete(timeKey(j.Died, u64(id))); err != nil {
		return err
	}
	if err := t.add(metaDead, -1); err != nil {
		return err
	}
	return t.forget(id, j)
}

// Stats implements [queue.Store]. It reads one entry per group.
func (s *Store) Stats(_ context.Context) (queue.Stats, error) {
	var st queue.Stats
	err := s.view(func(btx *bolt.Tx) error {
		now := s.now().UnixNano()
		meta := btx.Bucket(bucketMeta)
		st = queue.Stats{Queued: int(getU64(meta, metaLive)), Bytes: int64(getU64(meta, metaBytes)), Dead: int(getU64(meta, metaDead))}
		var oldest int64
		c := btx.Bucket(bucketReady).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(v) != 9 {
				return fmt.Errorf("inbox: a ready entry of %d bytes", len(v))
			}
			if int64(binary.BigEndian.Uint64(k)) > now {
				switch v[0] {
				case readyRunning:
					st.Running++
					st.Queued--
				case readyBackoff:
					st.Retrying++
					st.Queued--
				}
			}
			if a := int64(binary.BigEndian.Uint64(v[1:])); oldest == 0 || a < oldest {
				oldest = a
			}
		}
		if oldest != 0 {
			st.Oldest = fromNanos(oldest)
		}
		return nil
	})
	return st, err
}

// fromNanos is the time of unix nanoseconds n, in UTC.
func fromNanos(n int64) time.Time {
	return time.Unix(0, n).UTC()
}
