// Package memstore is an in-memory [queue.Store], for tests. It is not
// durable: whatever it holds is lost with the process.
package memstore

import (
	"bytes"
	"context"
	"maps"
	"sort"
	"sync"
	"time"

	"github.com/csmsg/csmsg/inbox/queue"
)

// Store is an in-memory [queue.Store]. Make one with [New].
type Store struct {
	now func() time.Time

	mu     sync.Mutex
	closed bool
	seq    uint64 // the last job id
	token  uint64 // the last fencing token
	keys   map[string]*key
	jobs   map[uint64]*job
	groups map[string][]uint64 // each group's waiting and running jobs, in order
	live   int                 // jobs in groups
	bytes  int64               // their bodies
}

type key struct {
	accepted time.Time
	job      uint64 // 0 with none
	answer   []byte
}

type job struct {
	id        uint64
	key       string
	group     string
	body      []byte
	accepted  time.Time
	attempts  int
	token     uint64
	leased    time.Time // the lease's end; zero when not leased
	notBefore time.Time
	lastErr   string
	steps     map[string][]byte
	dead      bool
	died      time.Time
	reason    string
}

// New returns an empty Store on the clock now; nil means time.Now.
func New(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{now: now, keys: map[string]*key{}, jobs: map[uint64]*job{}, groups: map[string][]uint64{}}
}

// Accept implements [queue.Store].
func (s *Store) Accept(_ context.Context, p queue.Push) (queue.Accepted, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return queue.Accepted{}, queue.ErrClosed
	}
	if k, ok := s.keys[p.Key]; ok {
		return queue.Accepted{Duplicate: true, Answer: bytes.Clone(k.answer)}, nil
	}
	now := s.now()
	if p.Body == nil {
		s.keys[p.Key] = &key{accepted: now, answer: bytes.Clone(p.Answer)}
		return queue.Accepted{}, nil
	}
	if (p.MaxJobs > 0 && s.live >= p.MaxJobs) || (p.MaxBytes > 0 && s.bytes+int64(len(p.Body)) > p.MaxBytes) {
		return queue.Accepted{}, queue.ErrFull
	}
	s.seq++
	j := &job{id: s.seq, key: p.Key, group: p.Group, body: bytes.Clone(p.Body), accepted: now}
	s.jobs[j.id] = j
	s.keys[p.Key] = &key{accepted: now, job: j.id}
	s.enqueue(j)
	return queue.Accepted{ID: j.id}, nil
}

// Lookup implements [queue.Store].
func (s *Store) Lookup(_ context.Context, name string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false, queue.ErrClosed
	}
	k, ok := s.keys[name]
	if !ok {
		return nil, false, nil
	}
	return bytes.Clone(k.answer), true, nil
}

// enqueue puts j at its group's tail. s.mu is held.
func (s *Store) enqueue(j *job) {
	s.groups[j.group] = append(s.groups[j.group], j.id)
	s.live++
	s.bytes += int64(len(j.body))
}

// unqueue takes j, its group's head, out of the group. s.mu is held.
func (s *Store) unqueue(j *job) {
	q := s.groups[j.group][1:]
	if len(q) == 0 {
		delete(s.groups, j.group)
	} else {
		s.groups[j.group] = q
	}
	s.live--
	s.bytes -= int64(len(j.body))
}

// Claim implements [queue.Store].
func (s *Store) Claim(_ context.Context, max int, lease time.Duration) ([]queue.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, queue.ErrClosed
	}
	now := s.now()
	// The ready heads, oldest acceptance first, so that no group starves.
	var ready []*job
	for _, q := range s.groups {
		j := s.jobs[q[0]]
		if now.Before(j.notBefore) || now.Before(j.leased) {
			continue
		}
		ready = append(ready, j)
	}
	sort.Slice(ready, func(a, b int) bool { return ready[a].id < ready[b].id })
	if len(ready) > max {
		ready = ready[:max]
	}
	out := make([]queue.Job, 0, len(ready))
	for _, j := range ready {
		s.token++
		j.token, j.leased = s.token, now.Add(lease)
		j.attempts++
		out = append(out, queue.Job{
			Lease: queue.Lease{ID: j.id, Token: j.token}, Key: j.key, Group: j.group,
			Body: bytes.Clone(j.body), Accepted: j.accepted, Attempt: j.attempts,
			LastError: j.lastErr, Steps: maps.Clone(j.steps),
		})
	}
	return out, nil
}

// held returns l's job while l holds it: the lease is unexpired and its
// token current. s.mu is held.
func (s *Store) held(l queue.Lease) (*job, error) {
	if s.closed {
		return nil, queue.ErrClosed
	}
	j := s.jobs[l.ID]
	if j == nil || j.dead || j.token != l.Token || !s.now().Before(j.leased) {
		return nil, queue.ErrLeaseLost
	}
	return j, nil
}

// onHeld runs change on l's job, under s.mu, if l holds it.
func (s *Store) onHeld(l queue.Lease, change func(j *job)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.held(l)
	if err != nil {
		return err
	}
	change(j)
	return nil
}

// Renew implements [queue.Store].
func (s *Store) Renew(_ context.Context, l queue.Lease, lease time.Duration) error {
	return s.onHeld(l, func(j *job) { j.leased = s.now().Add(lease) })
}

// Complete implements [queue.Store].
func (s *Store) Complete(_ context.Context, l queue.Lease) (next bool, err error) {
	err = s.onHeld(l, func(j *job) {
		s.unqueue(j)
		delete(s.jobs, j.id)
		if k := s.keys[j.key]; k != nil {
			k.job = 0
		}
		next = len(s.groups[j.group]) > 0
	})
	return next && err == nil, err
}

// Retry implements [queue.Store].
func (s *Store) Retry(_ context.Context, l queue.Lease, delay time.Duration, lastErr string) error {
	return s.onHeld(l, func(j *job) {
		j.leased, j.notBefore, j.lastErr = time.Time{}, s.now().Add(delay), lastErr
	})
}

// Return implements [queue.Store].
func (s *Store) Return(_ context.Context, l queue.Lease) error {
	return s.onHeld(l, func(j *job) {
		j.leased = time.Time{}
		j.attempts--
	})
}

// Dead implements [queue.Store].
func (s *Store) Dead(_ context.Context, l queue.Lease, reason string) error {
	return s.onHeld(l, func(j *job) {
		s.unqueue(j)
		j.dead, j.died, j.reason, j.leased = true, s.now(), reason, time.Time{}
	})
}

// SaveStep implements [queue.Store].
func (s *Store) SaveStep(_ context.Context, l queue.Lease, name string, result []byte) error {
	return s.onHeld(l, func(j *job) {
		if j.steps == nil {
			j.steps = map[string][]byte{}
		}
		j.steps[name] = bytes.Clone(result)
	})
}

// deadLetters returns the dead letters, oldest death first. s.mu is held.
func (s *Store) deadLetters() []*job {
	var dead []*job
	for _, j := range s.jobs {
		if j.dead {
			dead = append(dead, j)
		}
	}
	sort.Slice(dead, func(a, b int) bool {
		if !dead[a].died.Equal(dead[b].died) {
			return dead[a].died.Before(dead[b].died)
		}
		return dead[a].id < dead[b].id
	})
	return dead
}

// DeadLetters implements [queue.Store].
func (s *Store) DeadLetters(_ context.Context, max int) ([]queue.DeadLetter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, queue.ErrClosed
	}
	dead := s.deadLetters()
	if len(dead) > max {
		dead = dead[:max]
	}
	out := make([]queue.DeadLetter, 0, len(dead))
	for _, j := range dead {
		out = append(out, queue.DeadLetter{ID: j.id, Key: j.key, Group: j.group, Body: bytes.Clone(j.body),
			Accepted: j.accepted, Died: j.died, Attempts: j.attempts, Reason: j.reason})
	}
	return out, nil
}

// dead returns dead letter id. s.mu is held.
func (s *Store) dead(id uint64) (*job, error) {
	if s.closed {
		return nil, queue.ErrClosed
	}
	j := s.jobs[id]
	if j == nil || !j.dead {
		return nil, queue.ErrNotFound
	}
	return j, nil
}

// Revive implements [queue.Store].
func (s *Store) Revive(_ context.Context, id uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.dead(id)
	if err != nil {
		return err
	}
	j.dead, j.died, j.reason, j.attempts, j.notBefore, j.lastErr = false, time.Time{}, "", 0, time.Time{}, ""
	s.enqueue(j)
	return nil
}

// Drop implements [queue.Store].
func (s *Store) Drop(_ context.Context, id uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.dead(id)
	if err != nil {
		return err
	}
	s.drop(j)
	return nil
}

// drop forgets dead letter j. s.mu is held.
func (s *Store) drop(j *job) {
	delete(s.jobs, j.id)
	if k := s.keys[j.key]; k != nil && k.job == j.id {
		k.job = 0
	}
}

// Purge implements [queue.Store].
func (s *Store) Purge(_ context.Context, keyRetention, deadRetention time.Duration) (queue.Purged, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return queue.Purged{}, queue.ErrClosed
	}
	now := s.now()
	var p queue.Purged
	for _, j := range s.deadLetters() {
		if now.Sub(j.died) < deadRetention {
			break
		}
		s.drop(j)
		p.Dead++
	}
	for name, k := range s.keys {
		if k.job == 0 && now.Sub(k.accepted) >= keyRetention {
			delete(s.keys, name)
			p.Keys++
		}
	}
	return p, nil
}

// Stats implements [queue.Store].
func (s *Store) Stats(_ context.Context) (queue.Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return queue.Stats{}, queue.ErrClosed
	}
	now := s.now()
	st := queue.Stats{Queued: s.live, Bytes: s.bytes}
	for _, j := range s.jobs {
		if j.dead {
			st.Dead++
		}
	}
	for _, q := range s.groups {
		j := s.jobs[q[0]]
		switch {
		case now.Before(j.leased):
			st.Running++
			st.Queued--
		case now.Before(j.notBefore):
			st.Retrying++
			st.Queued--
		}
		if st.Oldest.IsZero() || j.accepted.Before(st.Oldest) {
			st.Oldest = j.accepted
		}
	}
	return st, nil
}

// Close implements [queue.Store]: the calls after it are
// [queue.ErrClosed].
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
