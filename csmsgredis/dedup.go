package csmsgredis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/redis/go-redis/v9"
)

// Defaults of the zero fields of [DedupOptions].
const (
	// DefaultDedupPrefix is the prefix of every key a Dedup writes.
	DefaultDedupPrefix = "csmsg:dedup:"

	// DefaultMinPoll is the first pause of an Acquire waiting for another
	// attempt's outcome.
	DefaultMinPoll = 20 * time.Millisecond

	// DefaultMaxPoll is the longest pause between two looks of a waiting
	// Acquire: the pause doubles from MinPoll up to it.
	DefaultMaxPoll = 200 * time.Millisecond
)

// DedupOptions configures a [Dedup]. The zero value of every field is a sound
// default.
type DedupOptions struct {
	// Prefix is prepended to each csmsg.DedupKey to make the Redis key:
	// "" means DefaultDedupPrefix. The keys already name the mini program, so
	// several can share a prefix; give a prefix of its own to each
	// deployment (staging, production) that shares the Redis.
	Prefix string

	// Lease is how long a claim lasts unless extended: 0 means
	// csmsg.DefaultDedupLease (8 s). It must be several times
	// csmsg.DedupRenewInterval, at which the Handler extends the claim of
	// a HandlerFunc still running, and longer than WeChat's 5-second
	// timeout; a shorter one only suits tests.
	Lease time.Duration

	// TTL is the least time a handled push and its answer are kept: 0
	// means csmsg.DefaultDedupTTL (60 s, four times WeChat's retry
	// window). A csmsg Receiver asks for longer, until a replay of the
	// push can no longer pass its signature check and csmsg.RetryWindow
	// more (with the default Tolerance, 5 minutes 15 seconds past the
	// push's timestamp), and the key is kept until then.
	TTL time.Duration

	// Now is the clock that turns a keep-until time into the key's time
	// to live; nil means time.Now. Set it to the Receiver's Config.Now
	// when that is not time.Now (tests).
	Now func() time.Time

	// MinPoll and MaxPoll bound the pauses of an Acquire waiting while
	// another attempt holds the claim: it looks again after MinPoll, then
	// after twice that, up to MaxPoll, and never later than the claim's
	// lease ends. 0 means DefaultMinPoll (20 ms) and DefaultMaxPoll
	// (200 ms). A waiting attempt costs Redis one round trip a pause.
	MinPoll, MaxPoll time.Duration
}

// Dedup is a [csmsg.Deduper] kept in Redis, for a backend of several
// instances behind a load balancer: WeChat's retry of a push may land on
// any of them, and every instance sees every claim and answer. Its methods
// are safe for concurrent use.
//
// Each push is one Redis key, the Prefix and its csmsg.DedupKey, so every
// operation touches one key and the Dedup works on a single node, with
// Sentinel and on a Cluster alike. While an attempt handles the push the
// key holds a claim naming the attempt's owner and expires after the
// Lease; once the push is handled it holds the answer and expires at the
// keep-until time the Receiver passes, or after the TTL if that is later.
type Dedup struct {
	client           redis.UniversalClient
	prefix           string
	lease, ttl       time.Duration
	minPoll, maxPoll time.Duration
	now              func() time.Time
}

// NewDedup returns a Dedup keeping its keys in client, which it does not close.
func NewDedup(client redis.UniversalClient, opts DedupOptions) *Dedup {
	s := &Dedup{
		client:  client,
		prefix:  opts.Prefix,
		lease:   opts.Lease,
		ttl:     opts.TTL,
		minPoll: opts.MinPoll,
		maxPoll: opts.MaxPoll,
		now:     opts.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.prefix == "" {
		s.prefix = DefaultDedupPrefix
	}
	if s.lease <= 0 {
		s.lease = csmsg.DefaultDedupLease
	}
	if s.ttl <= 0 {
		s.ttl = csmsg.DefaultDedupTTL
	}
	if s.minPoll <= 0 {
		s.minPoll = DefaultMinPoll
	}
	if s.maxPoll <= 0 {
		s.maxPoll = DefaultMaxPoll
	}
	if s.maxPoll < s.minPoll {
		s.maxPoll = s.minPoll
	}
	return s
}

// Key returns the Redis key of a csmsg.DedupKey: the Prefix and key.
func (s *Dedup) Key(key string) string { return s.prefix + key }

// A key's value is a one-byte tag and what it tags.
const (
	tagClaim = 'c' // "c" + owner: the owner's attempt is handling the push
	tagDone  = 'd' // "d" + answer: handled; an empty answer is "success"
)

func claimValue(owner string) string { return string(tagClaim) + owner }

func doneValue(answer []byte) string { return string(tagDone) + string(answer) }

// acquireScript claims KEYS[1] for the claim ARGV[1] with a lease of ARGV[2]
// milliseconds if it is free, or already ours (a retried call). It returns
// {0} when the claim is ours, {1, value} when the push is handled (kept
// for at least ARGV[3] milliseconds more: a later attempt extends it),
// and {2, pttl} while another attempt holds it.
var acquireScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v or v == ARGV[1] then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
	return {0}
end
if string.byte(v, 1) == 100 then -- 'd'
	local keep = tonumber(ARGV[3])
	local pttl = redis.call('PTTL', KEYS[1])
	if keep > 0 and pttl >= 0 and pttl < keep then
		redis.call('PEXPIRE', KEYS[1], keep)
	end
	return {1, v}
end
return {2, redis.call('PTTL', KEYS[1])}
`)

// extendScript renews the claim ARGV[1] on KEYS[1] for ARGV[2]
// milliseconds: 1 if it is held, else 0.
var extendScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// dedupCompleteScript replaces the claim ARGV[1] on KEYS[1] with the answer
// ARGV[2] for ARGV[3] milliseconds: 1 if the claim was held, else 0. Only
// the holder completes a claim, once: a second Complete, even of the same
// answer, finds the answer and no claim.
var dedupCompleteScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
	return 1
end
return 0
`)

// releaseScript deletes KEYS[1] if it holds the claim ARGV[1]: 1 if it
// did, else 0.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// Acquire implements [csmsg.Deduper], in one round trip unless it waits:
// a handled push's key is kept until keepUntil if that is later. While
// another attempt holds the
// claim it looks again after a pause that doubles from MinPoll to MaxPoll,
// cut short when the claim's lease ends, until that attempt completes
// (then it returns done and the answer), the claim is released or lapses
// (then it claims the key), or ctx ends (then its error matches
// ctx.Err()). A Redis failure is returned wrapped: a csmsg.Handler then
// handles the push without deduplication and logs the failure.
func (s *Dedup) Acquire(ctx context.Context, key, owner string, keepUntil time.Time) (answer []byte, done bool, err error) {
	rkey, claim := s.Key(key), claimValue(owner)
	pause := s.minPoll
	for {
		keep := int64(0) // no extension
		if left := keepUntil.Sub(s.now()); !keepUntil.IsZero() && left > 0 {
			keep = ms(left)
		}
		res, err := acquireScript.Run(ctx, s.client, []string{rkey}, claim, ms(s.lease), keep).Slice()
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, false, fmt.Errorf("csmsgredis: acquire: %w", ctxErr)
			}
			return nil, false, fmt.Errorf("csmsgredis: acquire: %w", err)
		}
		state, left, value, err := acquireResult(res)
		if err != nil {
			return nil, false, err
		}
		switch state {
		case 0:
			return nil, false, nil
		case 1:
			if len(value) == 1 {
				return nil, true, nil
			}
			return []byte(value[1:]), true, nil
		}
		wait := jitter(pause)
		if left >= 0 && left < wait { // the lease ends first: look then
			wait = left + time.Millisecond
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, false, fmt.Errorf("csmsgredis: waiting for another attempt at the push: %w", ctx.Err())
		case <-t.C:
		}
		if pause *= 2; pause > s.maxPoll {
			pause = s.maxPoll
		}
	}
}

// acquireResult decodes acquireScript's answer: the state, the claim's
// time to live (negative if unknown) and the value of a handled key.
func acquireResult(res []any) (state int64, left time.Duration, value string, err error) {
	bad := errors.New("csmsgredis: acquire: unexpected answer from Redis")
	if len(res) == 0 {
		return 0, 0, "", bad
	}
	state, ok := res[0].(int64)
	if !ok {
		return 0, 0, "", bad
	}
	switch state {
	case 0:
		return 0, 0, "", nil
	case 1:
		if len(res) < 2 {
			return 0, 0, "", bad
		}
		value, ok := res[1].(string)
		if !ok || value == "" {
			return 0, 0, "", bad
		}
		return 1, 0, value, nil
	case 2:
		left := time.Duration(-1)
		if len(res) > 1 {
			if pttl, ok := res[1].(int64); ok && pttl >= 0 {
				left = time.Duration(pttl) * time.Millisecond
			}
		}
		return 2, left, "", nil
	}
	return 0, 0, "", bad
}

// Extend implements [csmsg.Deduper]: it renews for another Lease each
// claim its owner still holds, in one pipelined round trip (one per node
// on a Cluster), and returns those whose owner does not hold them
// (another attempt's claim, a handled push, or a key that expired).
func (s *Dedup) Extend(ctx context.Context, claims []csmsg.Claim) ([]csmsg.Claim, error) {
	if len(claims) == 0 {
		return nil, nil
	}
	lease := ms(s.lease)
	run := func(eval func(ctx context.Context, c redis.Scripter, keys []string, args ...any) *redis.Cmd) ([]*redis.Cmd, error) {
		pipe := s.client.Pipeline()
		cmds := make([]*redis.Cmd, len(claims))
		for i, c := range claims {
			cmds[i] = eval(ctx, pipe, []string{s.Key(c.Key)}, claimValue(c.Owner), lease)
		}
		_, err := pipe.Exec(ctx)
		return cmds, err
	}
	cmds, err := run(extendScript.EvalSha)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") { // a Redis that restarted: send the script
		cmds, err = run(extendScript.Eval)
	}
	if err != nil {
		return nil, fmt.Errorf("csmsgredis: extend: %w", err)
	}
	var lost []csmsg.Claim
	for i, cmd := range cmds {
		if n, _ := cmd.Int64(); n != 1 {
			lost = append(lost, claims[i])
		}
	}
	return lost, nil
}

// Complete implements [csmsg.Deduper]: it replaces owner's claim with
// answer, kept until keepUntil or for the TTL, whichever ends later. An
// empty answer is kept as nil, "success". It returns an error matching
// csmsg.ErrNotOwner, and records nothing, if owner does not hold the
// claim.
func (s *Dedup) Complete(ctx context.Context, key, owner string, answer []byte, keepUntil time.Time) error {
	ttl := s.ttl
	if left := keepUntil.Sub(s.now()); !keepUntil.IsZero() && left > ttl {
		ttl = left
	}
	return s.run(ctx, "complete", dedupCompleteScript, key, claimValue(owner), doneValue(answer), ms(ttl))
}

// Release implements [csmsg.Deduper]: it deletes owner's claim so that the
// next attempt handles the push, or returns an error matching
// csmsg.ErrNotOwner if owner does not hold it.
func (s *Dedup) Release(ctx context.Context, key, owner string) error {
	return s.run(ctx, "release", releaseScript, key, claimValue(owner))
}

// run runs one of the compare-owner scripts, which answer 1 when the claim
// was held.
func (s *Dedup) run(ctx context.Context, op string, script *redis.Script, key string, args ...any) error {
	n, err := script.Run(ctx, s.client, []string{s.Key(key)}, args...).Int64()
	if err != nil {
		return fmt.Errorf("csmsgredis: %s: %w", op, err)
	}
	if n != 1 {
		return fmt.Errorf("csmsgredis: %s: %w", op, csmsg.ErrNotOwner)
	}
	return nil
}

// ms is d in whole milliseconds, at least 1, as PX and PEXPIRE take it.
func ms(d time.Duration) int64 {
	if n := d.Milliseconds(); n > 0 {
		return n
	}
	return 1
}

// jitter returns d give or take an eighth, so that attempts waiting on one
// push do not look at the same moment.
func jitter(d time.Duration) time.Duration {
	spread := int64(d / 4)
	if spread <= 0 {
		return d
	}
	return d - d/8 + time.Duration(rand.Int64N(spread))
}

var _ csmsg.Deduper = (*Dedup)(nil)
