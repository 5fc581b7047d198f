package csmsgredis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/csmsg/csmsg/inbox/queue"
)

// Format is the version of the layout of a queue's keys, stored under
// "{prefix}:format" and checked by [NewQueue].
const Format = "1"

// DefaultQueuePrefix is the prefix of a queue's keys when QueueOptions.Prefix is
// empty.
const DefaultQueuePrefix = "csmsg:inbox"

// purgeBatch is the most keys (and dead letters) one purge script
// forgets, so that no script holds Redis for long; Purge loops.
const purgeBatch = 1000

// QueueOptions configures a [Queue]. The zero value is ready to use.
type QueueOptions struct {
	// Prefix names the queue: every key is "{Prefix}:...", one hash tag,
	// so one Redis Cluster slot. Queues with different prefixes are
	// independent (and may live on different shards). Empty means
	// DefaultQueuePrefix; braces are refused.
	Prefix string
}

// Queue is a [queue.Store] on Redis, shared by every instance that opens
// the same prefix on the same Redis. Make one with [NewQueue]. It is safe
// for concurrent use.
type Queue struct {
	rdb    redis.UniversalClient
	base   string   // "{prefix}", the hash tag and the head of every key
	keys   []string // the fixed keys, as the scripts read them
	closed atomic.Bool
	pipes  pipeliner // the calls on their way to Redis (pipeline.go)

	// now replaces Redis's TIME in the scripts when set: only the
	// conformance suite's hand-driven clock sets it.
	now func() time.Time
}

// NewQueue returns the queue named opts.Prefix on rdb, after checking
// (or, on an empty Redis, writing) its format version: a queue written by
// another format is [queue.ErrFormat]. The caller keeps rdb: Close does
// not close it.
func NewQueue(ctx context.Context, rdb redis.UniversalClient, opts QueueOptions) (*Queue, error) {
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultQueuePrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("%w: %q", ErrPrefix, prefix)
	}
	q := &Queue{rdb: rdb, base: "{" + prefix + "}"}
	for _, name := range keyNames {
		q.keys = append(q.keys, q.base+":"+name)
	}
	v, err := q.run(ctx, "open", openScript, Format).Text()
	if err != nil {
		return nil, err
	}
	if v != Format {
		return nil, fmt.Errorf("%w: %s holds format %q, this code reads %q", queue.ErrFormat, q.base, v, Format)
	}
	return q, nil
}

// cmd is a script's reply, or the error wrapped for the caller.
type cmd struct {
	val any
	err error
}

// run runs s with the queue's keys, base and clock before args, unless
// the queue is closed.
func (q *Queue) run(ctx context.Context, op string, s *redis.Script, args ...any) cmd {
	if q.closed.Load() {
		return cmd{err: queue.ErrClosed}
	}
	clock := ""
	if q.now != nil {
		clock = strconv.FormatInt(q.now().UnixMicro(), 10)
	}
	val, err := q.do(ctx, s, append([]any{q.base, clock}, args...))
	if err != nil {
		return cmd{err: fmt.Errorf("%w: %s: %w", ErrRedis, op, err)}
	}
	return cmd{val: val}
}

// Text returns a string reply.
func (c cmd) Text() (string, error) {
	if c.err != nil {
		return "", c.err
	}
	s, _ := c.val.(string)
	return s, nil
}

// Int returns an integer reply.
func (c cmd) Int() (int64, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, _ := c.val.(int64)
	return n, nil
}

// List returns an array reply.
func (c cmd) List() ([]any, error) {
	if c.err != nil {
		return nil, c.err
	}
	l, _ := c.val.([]any)
	return l, nil
}

// leased runs a script on lease l: a reply 0 is [queue.ErrLeaseLost].
func (q *Queue) leased(ctx context.Context, op string, s *redis.Script, l queue.Lease, args ...any) error {
	_, err := q.leasedN(ctx, op, s, l, args...)
	return err
}

// leasedN is leased, with the script's reply.
func (q *Queue) leasedN(ctx context.Context, op string, s *redis.Script, l queue.Lease, args ...any) (int64, error) {
	n, err := q.run(ctx, op, s, append([]any{l.ID, l.Token}, args...)...).Int()
	if err == nil && n == 0 {
		err = queue.ErrLeaseLost
	}
	return n, err
}

// onDead runs a script on dead letter id: a reply 0 is
// [queue.ErrNotFound].
func (q *Queue) onDead(ctx context.Context, op string, s *redis.Script, id uint64) error {
	n, err := q.run(ctx, op, s, id).Int()
	if err == nil && n == 0 {
		err = queue.ErrNotFound
	}
	return err
}

// Accept implements [queue.Store]. The key and the job are written by one
// script, so atomically; the reply means Redis applied it (see the
// package doc on what its persistence settings make of that).
func (q *Queue) Accept(ctx context.Context, p queue.Push) (queue.Accepted, error) {
	hasBody := "0"
	if p.Body != nil {
		hasBody = "1"
	}
	l, err := q.run(ctx, "accept", acceptScript, p.Key, p.Group, p.Body, p.Answer, p.MaxJobs, p.MaxBytes, hasBody).List()
	if err != nil {
		return queue.Accepted{}, err
	}
	switch num(l, 0) {
	case 1:
		return queue.Accepted{Duplicate: true, Answer: bin(l, 1)}, nil
	case 2:
		return queue.Accepted{}, queue.ErrFull
	case 3:
		return queue.Accepted{ID: uint64(num(l, 1))}, nil
	}
	return queue.Accepted{}, nil
}

// Lookup implements [queue.Store].
func (q *Queue) Lookup(ctx context.Context, key string) ([]byte, bool, error) {
	l, err := q.run(ctx, "lookup", lookupScript, key).List()
	if err != nil {
		return nil, false, err
	}
	return bin(l, 1), num(l, 0) == 1, nil
}

// Claim implements [queue.Store]: the ready heads, oldest first, on
// Redis's clock.
func (q *Queue) Claim(ctx context.Context, max int, lease time.Duration) ([]queue.Job, error) {
	if max <= 0 {
		return nil, nil
	}
	l, err := q.run(ctx, "claim", claimScript, max, lease.Microseconds()).List()
	if err != nil {
		return nil, err
	}
	jobs := make([]queue.Job, 0, len(l))
	for _, e := range l {
		f, _ := e.([]any)
		j := queue.Job{
			Lease:    queue.Lease{ID: uint64(num(f, 0)), Token: uint64(num(f, 1))},
			Attempt:  int(num(f, 2)),
			Key:      str(f, 3),
			Group:    str(f, 4),
			Body:     []byte(str(f, 5)),
			Accepted: micros(str(f, 6)),
		}
		j.LastError = str(f, 7)
		if steps, _ := at(f, 8).([]any); len(steps) > 0 {
			j.Steps = make(map[string][]byte, len(steps)/2)
			for i := 0; i+1 < len(steps); i += 2 {
				j.Steps[str(steps, i)] = []byte(str(steps, i+1))
			}
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// Renew implements [queue.Store].
func (q *Queue) Renew(ctx context.Context, l queue.Lease, lease time.Duration) error {
	return q.leased(ctx, "renew", renewScript, l, lease.Microseconds())
}

// Complete implements [queue.Store].
func (q *Queue) Complete(ctx context.Context, l queue.Lease) (next bool, err error) {
	n, err := q.leasedN(ctx, "complete", completeScript, l)
	return n == 2 && err == nil, err
}

// Retry implements [queue.Store].
func (q *Queue) Retry(ctx context.Context, l queue.Lease, delay time.Duration, lastErr string) error {
	return q.leased(ctx, "retry", retryScript, l, delay.Microseconds(), lastErr)
}

// Return implements [queue.Store].
func (q *Queue) Return(ctx context.Context, l queue.Lease) error {
	return q.leased(ctx, "return", returnScript, l)
}

// Dead implements [queue.Store].
func (q *Queue) Dead(ctx context.Context, l queue.Lease, reason string) error {
	return q.leased(ctx, "dead", deadScript, l, reason)
}

// SaveStep implements [queue.Store].
func (q *Queue) SaveStep(ctx context.Context, l queue.Lease, name string, result []byte) error {
	return q.leased(ctx, "save step", saveStepScript, l, name, result)
}

// DeadLetters implements [queue.Store].
func (q *Queue) DeadLetters(ctx context.Context, max int) ([]queue.DeadLetter, error) {
	if max <= 0 {
		return nil, nil
	}
	l, err := q.run(ctx, "dead letters", deadLettersScript, max).List()
	if err != nil {
		return nil, err
	}
	out := make([]queue.DeadLetter, 0, len(l))
	for _, e := range l {
		f, _ := e.([]any)
		out = append(out, queue.DeadLetter{
			ID: uint64(num(f, 0)), Key: str(f, 1), Group: str(f, 2), Body: []byte(str(f, 3)),
			Accepted: micros(str(f, 4)), Died: micros(str(f, 5)), Attempts: int(num(f, 6)), Reason: str(f, 7),
		})
	}
	return out, nil
}

// Revive implements [queue.Store].
func (q *Queue) Revive(ctx context.Context, id uint64) error {
	return q.onDead(ctx, "revive", reviveScript, id)
}

// Drop implements [queue.Store].
func (q *Queue) Drop(ctx context.Context, id uint64) error {
	return q.onDead(ctx, "drop", dropScript, id)
}

// Purge implements [queue.Store], in scripts of up to a thousand keys
// and dead letters each, so that Redis serves other calls between them.
func (q *Queue) Purge(ctx context.Context, keyRetention, deadRetention time.Duration) (queue.Purged, error) {
	var p queue.Purged
	for {
		l, err := q.run(ctx, "purge", purgeScript, keyRetention.Microseconds(), deadRetention.Microseconds(), purgeBatch).List()
		if err != nil {
			return p, err
		}
		keys, dead := int(num(l, 0)), int(num(l, 1))
		p.Keys += keys
		p.Dead += dead
		if keys < purgeBatch && dead < purgeBatch {
			return p, nil
		}
	}
}

// Stats implements [queue.Store].
func (q *Queue) Stats(ctx context.Context) (queue.Stats, error) {
	l, err := q.run(ctx, "stats", statsScript).List()
	if err != nil {
		return queue.Stats{}, err
	}
	running, retrying := int(num(l, 3)), int(num(l, 4))
	st := queue.Stats{
		Queued: int(num(l, 0)) - running - retrying, Running: running, Retrying: retrying,
		Bytes: num(l, 1), Dead: int(num(l, 2)),
	}
	if acc := str(l, 5); acc != "" {
		st.Oldest = micros(acc)
	}
	return st, nil
}

// Close implements [queue.Store]: the calls after it are
// [queue.ErrClosed]. It leaves the Redis client open.
func (q *Queue) Close() error {
	q.closed.Store(true)
	return nil
}

// at returns l[i], or nil past its end.
func at(l []any, i int) any {
	if i < len(l) {
		return l[i]
	}
	return nil
}

// num returns the integer l[i], or 0.
func num(l []any, i int) int64 {
	n, _ := at(l, i).(int64)
	return n
}

// str returns the string l[i], or "".
func str(l []any, i int) string {
	s, _ := at(l, i).(string)
	return s
}

// bin returns the string l[i] as bytes, nil when empty.
func bin(l []any, i int) []byte {
	if s := str(l, i); s != "" {
		return []byte(s)
	}
	return nil
}

// micros reads a time in microseconds since the epoch, in UTC.
func micros(s string) time.Time {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.UnixMicro(n).UTC()
}

var _ queue.Store = (*Queue)(nil)
