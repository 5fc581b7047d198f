// Package storetest is the conformance suite of a [queue.Store]: every
// store runs it, with the race detector, from its own tests.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, now func() time.Time) queue.Store {
//			return mystore.New(now)
//		})
//	}
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg/inbox/queue"
)

// Open returns a new, empty store on the clock now. The suite closes it.
type Open func(t *testing.T, now func() time.Time) queue.Store

// Clock is a clock the suite moves by hand.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock at a fixed instant.
func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const lease = 30 * time.Second

// Run runs the suite against the stores open returns.
func Run(t *testing.T, open Open) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewClock()
			s := open(t, c.Now)
			t.Cleanup(func() { s.Close() })
			tc.run(t, &env{t: t, s: s, c: c, ctx: context.Background()})
		})
	}
}

// env is one case's store and clock, with helpers that fail the test.
type env struct {
	t   *testing.T
	s   queue.Store
	c   *Clock
	ctx context.Context
}

func (e *env) accept(key, group, body string) uint64 {
	e.t.Helper()
	a, err := e.s.Accept(e.ctx, queue.Push{Key: key, Group: group, Body: []byte(body)})
	require.NoError(e.t, err)
	require.False(e.t, a.Duplicate, "accept %q", key)
	return a.ID
}

func (e *env) claim(max int) []queue.Job {
	e.t.Helper()
	jobs, err := e.s.Claim(e.ctx, max, lease)
	require.NoError(e.t, err)
	return jobs
}

// complete completes l, and returns whether its group has a next job.
func (e *env) complete(l queue.Lease) bool {
	e.t.Helper()
	next, err := e.s.Complete(e.ctx, l)
	require.NoError(e.t, err)
	return next
}

// claimedKeys returns the keys of the jobs a claim of up to max gets.
func (e *env) claimedKeys(max int) ([]string, []queue.Job) {
	e.t.Helper()
	jobs := e.claim(max)
	keys := []string{}
	for _, j := range jobs {
		keys = append(keys, j.Key)
	}
	return keys, jobs
}

func (e *env) stats() queue.Stats {
	e.t.Helper()
	st, err := e.s.Stats(e.ctx)
	require.NoError(e.t, err)
	return st
}

var cases = []struct {
	name string
	run  func(t *testing.T, e *env)
}{
	{"AcceptAndClaim", func(t *testing.T, e *env) {
		accepted := e.c.Now()
		id := e.accept("k1", "g1", "body1")
		e.c.Advance(time.Second)
		jobs := e.claim(10)
		require.Len(t, jobs, 1)
		assert.Equal(t, queue.Job{
			Lease: queue.Lease{ID: id, Token: jobs[0].Lease.Token}, Key: "k1", Group: "g1",
			Body: []byte("body1"), Accepted: accepted, Attempt: 1,
		}, normalize(jobs[0]))
		assert.NotZero(t, jobs[0].Lease.Token)
		assert.Empty(t, e.claim(10), "a leased job is not claimed again")
	}},
	{"DuplicateKey", func(t *testing.T, e *env) {
		e.accept("k1", "g1", "body1")
		a, err := e.s.Accept(e.ctx, queue.Push{Key: "k1", Group: "g1", Body: []byte("again")})
		require.NoError(t, err)
		assert.Equal(t, queue.Accepted{Duplicate: true}, normalizeAccepted(a))
		assert.Len(t, e.claim(10), 1)
	}},
	{"Lookup", func(t *testing.T, e *env) {
		_, found, err := e.s.Lookup(e.ctx, "k1")
		require.NoError(t, err)
		assert.False(t, found)
		e.accept("k1", "g1", "x")
		_, err = e.s.Accept(e.ctx, queue.Push{Key: "k2", Answer: []byte("transfer")})
		require.NoError(t, err)
		for key, want := range map[string]string{"k1": "", "k2": "transfer"} {
			answer, found, err := e.s.Lookup(e.ctx, key)
			require.NoError(t, err)
			assert.True(t, found, key)
			assert.Equal(t, want, string(answer), key)
		}
	}},
	{"KeyAloneKeepsAnswer", func(t *testing.T, e *env) {
		a, err := e.s.Accept(e.ctx, queue.Push{Key: "k1", Answer: []byte("transfer")})
		require.NoError(t, err)
		assert.Equal(t, queue.Accepted{}, normalizeAccepted(a))
		a, err = e.s.Accept(e.ctx, queue.Push{Key: "k1", Group: "g1", Body: []byte("b")})
		require.NoError(t, err)
		assert.Equal(t, queue.Accepted{Duplicate: true, Answer: []byte("transfer")}, a)
		assert.Empty(t, e.claim(10))
		assert.Equal(t, queue.Stats{}, e.stats())
	}},
	{"GroupOrder", func(t *testing.T, e *env) {
		e.accept("a1", "a", "x")
		e.accept("b1", "b", "x")
		e.accept("a2", "a", "x")
		e.accept("b2", "b", "x")
		keys, jobs := e.claimedKeys(10)
		assert.Equal(t, []string{"a1", "b1"}, keys, "one job per group, oldest first")
		assert.True(t, e.complete(jobs[0].Lease), "a2 is next")
		keys, jobs2 := e.claimedKeys(10)
		assert.Equal(t, []string{"a2"}, keys)
		assert.True(t, e.complete(jobs[1].Lease), "b2 is next")
		assert.False(t, e.complete(jobs2[0].Lease), "a has no next job")
		keys, _ = e.claimedKeys(10)
		assert.Equal(t, []string{"b2"}, keys)
	}},
	{"ClaimMax", func(t *testing.T, e *env) {
		for i := range 5 {
			e.accept(fmt.Sprint("k", i), fmt.Sprint("g", i), "x")
		}
		keys, _ := e.claimedKeys(2)
		assert.Equal(t, []string{"k0", "k1"}, keys)
		keys, _ = e.claimedKeys(10)
		assert.Equal(t, []string{"k2", "k3", "k4"}, keys)
	}},
	{"LeaseExpiryFences", func(t *testing.T, e *env) {
		e.accept("k1", "g1", "x")
		first := e.claim(1)[0]
		e.c.Advance(lease / 2)
		require.NoError(t, e.s.Renew(e.ctx, first.Lease, lease))
		e.c.Advance(lease - time.Second)
		assert.Empty(t, e.claim(1), "renewed")
		e.c.Advance(time.Second)
		// The lease expired: every call on it fails, before and after a new claim.
		next, err := e.s.Complete(e.ctx, first.Lease)
		assert.ErrorIs(t, err, queue.ErrLeaseLost)
		assert.False(t, next)
		second := e.claim(1)
		require.Len(t, second, 1)
		assert.Equal(t, 2, second[0].Attempt)
		assert.Greater(t, second[0].Lease.Token, first.Lease.Token)
		for name, call := range map[string]func(queue.Lease) error{
			"Renew":    func(l queue.Lease) error { return e.s.Renew(e.ctx, l, lease) },
			"Complete": func(l queue.Lease) error { _, err := e.s.Complete(e.ctx, l); return err },
			"Retry":    func(l queue.Lease) error { return e.s.Retry(e.ctx, l, 0, "e") },
			"Return":   func(l queue.Lease) error { return e.s.Return(e.ctx, l) },
			"Dead":     func(l queue.Lease) error { return e.s.Dead(e.ctx, l, "r") },
			"SaveStep": func(l queue.Lease) error { return e.s.SaveStep(e.ctx, l, "s", []byte("v")) },
		} {
			assert.ErrorIs(t, call(first.Lease), queue.ErrLeaseLost, name)
		}
		assert.False(t, e.complete(second[0].Lease))
		_, err = e.s.Complete(e.ctx, second[0].Lease)
		assert.ErrorIs(t, err, queue.ErrLeaseLost, "completed")
	}},
	{"RetryBackoffDelaysOnlyItsGroup", func(t *testing.T, e *env) {
		e.accept("a1", "a", "x")
		e.accept("a2", "a", "x")
		e.accept("b1", "b", "x")
		_, jobs := e.claimedKeys(1)
		require.NoError(t, e.s.Retry(e.ctx, jobs[0].Lease, time.Minute, "boom"))
		assert.Equal(t, queue.Stats{Queued: 2, Retrying: 1, Bytes: 3, Oldest: jobs[0].Accepted}, e.stats())
		keys, b := e.claimedKeys(10)
		assert.Equal(t, []string{"b1"}, keys)
		assert.False(t, e.complete(b[0].Lease), "b has no next job")
		e.c.Advance(time.Minute)
		keys, again := e.claimedKeys(10)
		assert.Equal(t, []string{"a1"}, keys, "the head retries before a2")
		assert.Equal(t, 2, again[0].Attempt)
		assert.Equal(t, "boom", again[0].LastError)
	}},
	{"ReturnUncountsAttempt", func(t *testing.T, e *env) {
		e.accept("k1", "g1", "x")
		j := e.claim(1)[0]
		require.NoError(t, e.s.Return(e.ctx, j.Lease))
		again := e.claim(1)
		require.Len(t, again, 1)
		assert.Equal(t, 1, again[0].Attempt)
	}},
	{"DeadLetterThenGroupMovesOnAndReviveGoesLast", func(t *testing.T, e *env) {
		accepted := e.c.Now()
		id := e.accept("a1", "a", "one")
		e.accept("a2", "a", "two")
		j := e.claim(1)[0]
		require.NoError(t, e.s.SaveStep(e.ctx, j.Lease, "reply", []byte("hi")))
		e.c.Advance(time.Second)
		require.NoError(t, e.s.Dead(e.ctx, j.Lease, "bad"))
		dl, err := e.s.DeadLetters(e.ctx, 10)
		require.NoError(t, err)
		assert.Equal(t, []queue.DeadLetter{{ID: id, Key: "a1", Group: "a", Body: []byte("one"),
			Accepted: accepted, Died: accepted.Add(time.Second), Attempts: 1, Reason: "bad"}}, normalizeDead(dl))
		assert.Equal(t, 1, e.stats().Dead)
		e.accept("a3", "a", "three")
		keys, next := e.claimedKeys(10)
		assert.Equal(t, []string{"a2"}, keys)
		require.NoError(t, e.s.Revive(e.ctx, id))
		assert.ErrorIs(t, e.s.Revive(e.ctx, id), queue.ErrNotFound)
		assert.True(t, e.complete(next[0].Lease), "a3 is next")
		keys, next = e.claimedKeys(10)
		assert.Equal(t, []string{"a3"}, keys)
		assert.True(t, e.complete(next[0].Lease), "the revived a1 is next")
		revived := e.claim(10)
		require.Len(t, revived, 1)
		assert.Equal(t, "a1", revived[0].Key)
		assert.Equal(t, 1, revived[0].Attempt, "attempts reset")
		assert.Equal(t, map[string][]byte{"reply": []byte("hi")}, revived[0].Steps, "Once records survive")
		a, err := e.s.Accept(e.ctx, queue.Push{Key: "a1", Group: "a", Body: []byte("one")})
		require.NoError(t, err)
		assert.True(t, a.Duplicate)
	}},
	{"Drop", func(t *testing.T, e *env) {
		id := e.accept("k1", "g1", "x")
		assert.ErrorIs(t, e.s.Drop(e.ctx, id), queue.ErrNotFound, "not dead")
		require.NoError(t, e.s.Dead(e.ctx, e.claim(1)[0].Lease, "r"))
		require.NoError(t, e.s.Drop(e.ctx, id))
		assert.ErrorIs(t, e.s.Drop(e.ctx, id), queue.ErrNotFound)
		assert.Equal(t, queue.Stats{}, e.stats())
		a, err := e.s.Accept(e.ctx, queue.Push{Key: "k1", Group: "g1", Body: []byte("x")})
		require.NoError(t, err)
		assert.True(t, a.Duplicate, "the key outlives the job")
	}},
	{"Steps", func(t *testing.T, e *env) {
		e.accept("k1", "g1", "x")
		j := e.claim(1)[0]
		require.NoError(t, e.s.SaveStep(e.ctx, j.Lease, "a", []byte("1")))
		require.NoError(t, e.s.SaveStep(e.ctx, j.Lease, "b", []byte{}))
		require.NoError(t, e.s.Retry(e.ctx, j.Lease, 0, "e"))
		again := e.claim(1)[0]
		assert.Equal(t, map[string][]byte{"a": []byte("1"), "b": {}}, normalizeSteps(again.Steps))
	}},
	{"Limits", func(t *testing.T, e *env) {
		push := func(key string, body string, jobs int, bytes int64) error {
			_, err := e.s.Accept(e.ctx, queue.Push{Key: key, Group: key, Body: []byte(body), MaxJobs: jobs, MaxBytes: bytes})
			return err
		}
		require.NoError(t, push("k1", "12345", 2, 10))
		assert.ErrorIs(t, push("k2", "123456", 2, 10), queue.ErrFull, "bytes")
		require.NoError(t, push("k2", "12345", 2, 10))
		assert.ErrorIs(t, push("k3", "1", 2, 0), queue.ErrFull, "jobs")
		a, err := e.s.Accept(e.ctx, queue.Push{Key: "k3", Group: "k3", Body: []byte("1")})
		require.NoError(t, err, "the refused push left no key")
		require.NotZero(t, a.ID)
		// A completed job frees its room; a dead letter does too.
		jobs := e.claim(10)
		assert.False(t, e.complete(jobs[0].Lease), "its group has no next job")
		require.NoError(t, e.s.Dead(e.ctx, jobs[1].Lease, "r"))
		assert.Equal(t, queue.Stats{Running: 1, Dead: 1, Bytes: 1, Oldest: jobs[2].Accepted}, e.stats())
		require.NoError(t, push("k4", "12345", 2, 10))
	}},
	{"Stats", func(t *testing.T, e *env) {
		assert.Equal(t, queue.Stats{}, e.stats())
		first := e.c.Now()
		e.accept("a1", "a", "12")
		e.c.Advance(time.Second)
		e.accept("a2", "a", "345")
		e.accept("b1", "b", "6")
		e.accept("c1", "c", "7")
		jobs := e.claim(2)
		require.NoError(t, e.s.Retry(e.ctx, jobs[1].Lease, time.Minute, "e"))
		assert.Equal(t, queue.Stats{Queued: 2, Retrying: 1, Running: 1, Bytes: 7, Oldest: first}, e.stats())
		assert.True(t, e.complete(jobs[0].Lease), "a2 is next")
		assert.Equal(t, queue.Stats{Queued: 2, Retrying: 1, Bytes: 5, Oldest: first.Add(time.Second)}, e.stats())
		e.c.Advance(lease + time.Minute)
		assert.Equal(t, queue.Stats{Queued: 3, Bytes: 5, Oldest: first.Add(time.Second)}, e.stats())
	}},
	{"PurgeKeysAfterRetention", func(t *testing.T, e *env) {
		e.accept("done", "g1", "x")
		e.accept("waiting", "g1", "x")
		_, err := e.s.Accept(e.ctx, queue.Push{Key: "answered", Answer: []byte("a")})
		require.NoError(t, err)
		assert.True(t, e.complete(e.claim(1)[0].Lease), "waiting is next")
		e.c.Advance(10*time.Minute - time.Second)
		p, err := e.s.Purge(e.ctx, 10*time.Minute, time.Hour)
		require.NoError(t, err)
		assert.Equal(t, queue.Purged{}, p)
		e.c.Advance(time.Second)
		p, err = e.s.Purge(e.ctx, 10*time.Minute, time.Hour)
		require.NoError(t, err)
		assert.Equal(t, queue.Purged{Keys: 2}, p, "the waiting job's key stays")
		for key, dup := range map[string]bool{"done": false, "answered": false, "waiting": true} {
			a, err := e.s.Accept(e.ctx, queue.Push{Key: key, Group: "g2", Body: []byte("x")})
			require.NoError(t, err)
			assert.Equal(t, dup, a.Duplicate, key)
		}
	}},
	{"PurgeDeadLetters", func(t *testing.T, e *env) {
		e.accept("k1", "g1", "x")
		e.accept("k2", "g2", "x")
		jobs := e.claim(2)
		require.NoError(t, e.s.Dead(e.ctx, jobs[0].Lease, "r"))
		e.c.Advance(10 * time.Second)
		require.NoError(t, e.s.Dead(e.ctx, jobs[1].Lease, "r"))
		e.c.Advance(time.Hour - 10*time.Second)
		p, err := e.s.Purge(e.ctx, 24*time.Hour, time.Hour)
		require.NoError(t, err)
		assert.Equal(t, queue.Purged{Dead: 1}, p)
		dl, err := e.s.DeadLetters(e.ctx, 10)
		require.NoError(t, err)
		require.Len(t, dl, 1)
		assert.Equal(t, "k2", dl[0].Key)
	}},
	{"DeadLettersMax", func(t *testing.T, e *env) {
		for i := range 3 {
			e.accept(fmt.Sprint("k", i), fmt.Sprint("g", i), "x")
		}
		for _, j := range e.claim(3) {
			require.NoError(t, e.s.Dead(e.ctx, j.Lease, "r"))
			e.c.Advance(time.Second)
		}
		dl, err := e.s.DeadLetters(e.ctx, 2)
		require.NoError(t, err)
		assert.Equal(t, []string{"k0", "k1"}, []string{dl[0].Key, dl[1].Key})
		assert.Len(t, dl, 2)
	}},
	{"ConcurrentAccepts", func(t *testing.T, e *env) {
		// 8 goroutines accept the same 50 keys: each key is one job, and
		// every answer is an id or a duplicate.
		var wg sync.WaitGroup
		var mu sync.Mutex
		ids := map[uint64]bool{}
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					a, err := e.s.Accept(e.ctx, queue.Push{Key: fmt.Sprint("k", i), Group: fmt.Sprint("g", i%5), Body: []byte("x")})
					if !assert.NoError(t, err) {
						return
					}
					if !a.Duplicate {
						mu.Lock()
						assert.False(t, ids[a.ID], "id %d twice", a.ID)
						ids[a.ID] = true
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		assert.Len(t, ids, 50)
		assert.Equal(t, 50, e.stats().Queued)
	}},
	{"ConcurrentClaims", func(t *testing.T, e *env) {
		for i := range 40 {
			e.accept(fmt.Sprint("k", i), fmt.Sprint("g", i%10), "x")
		}
		// Workers claim and complete until the queue is empty: each job once,
		// each group in order.
		var mu sync.Mutex
		var order []string
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for idle := 0; idle < 50; {
					jobs, err := e.s.Claim(e.ctx, 2, lease)
					if !assert.NoError(t, err) {
						return
					}
					if len(jobs) == 0 {
						idle++
						time.Sleep(time.Millisecond)
						continue
					}
					for _, j := range jobs {
						mu.Lock()
						order = append(order, j.Key)
						mu.Unlock()
						_, err := e.s.Complete(e.ctx, j.Lease)
						assert.NoError(t, err)
					}
				}
			}()
		}
		wg.Wait()
		require.Len(t, order, 40)
		last := map[int]int{}
		for _, k := range order {
			var i int
			fmt.Sscanf(k, "k%d", &i)
			if prev, ok := last[i%10]; ok {
				assert.Less(t, prev, i, "group %d order", i%10)
			}
			last[i%10] = i
		}
	}},
	{"Closed", func(t *testing.T, e *env) {
		require.NoError(t, e.s.Close())
		_, err := e.s.Accept(e.ctx, queue.Push{Key: "k", Group: "g", Body: []byte("x")})
		assert.ErrorIs(t, err, queue.ErrClosed)
		_, err = e.s.Claim(e.ctx, 1, lease)
		assert.ErrorIs(t, err, queue.ErrClosed)
	}},
}

// normalize makes a claimed job comparable: no Steps is nil.
func normalize(j queue.Job) queue.Job {
	if len(j.Steps) == 0 {
		j.Steps = nil
	}
	j.Accepted = j.Accepted.UTC()
	return j
}

func normalizeAccepted(a queue.Accepted) queue.Accepted {
	if len(a.Answer) == 0 {
		a.Answer = nil
	}
	return a
}

func normalizeDead(dl []queue.DeadLetter) []queue.DeadLetter {
	for i := range dl {
		dl[i].Accepted, dl[i].Died = dl[i].Accepted.UTC(), dl[i].Died.UTC()
	}
	return dl
}

func normalizeSteps(s map[string][]byte) map[string][]byte {
	for k, v := range s {
		if v == nil {
			s[k] = []byte{}
		}
	}
	return s
}
