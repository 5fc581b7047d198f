package csmsg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash/maphash"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// Deduper is where a [Receiver.Handler] records which pushes it has
// handled and what it answered, so that each push is handled once although
// WeChat sends it up to three times (it gives up on an answer after 5
// seconds), and, with a store shared between them, once across several
// instances; and so that a replay of a captured push, which still carries
// a valid signature for [Config.Tolerance], is answered from the store and
// never handled again. It is the extension point for such a store:
// [MemoryDedup] serves one instance, csmsgredis.Dedup (the csmsgredis
// module) many.
//
// Each attempt at a push claims the push's key ([DedupKey]) under an owner,
// a token unique to the attempt, and only that owner can extend, complete
// or release the claim. A claim lapses after the store's lease unless it is
// extended, so that a push whose attempt died with its instance is handled
// by a later retry. A Receiver extends every claim it holds, in one batch,
// every [DedupRenewInterval], from one loop that runs only while it holds
// claims; a store's lease must be several times longer.
//
// A handled push is kept at least until the keep-until time the Receiver
// passes (the push's signed timestamp plus Config.Tolerance plus
// [RetryWindow], on the Receiver's clock: the last moment a replay of it
// could pass the signature check, with a margin), and extended when a
// later attempt passes a later one. A zero keep-until leaves the store's
// own minimum (TTL).
//
// Implementations must be safe for concurrent use.
type Deduper interface {
	// Acquire claims key for owner's attempt. If an earlier attempt
	// completed, it returns that attempt's answer and done, and keeps the
	// push at least until keepUntil: the push must not be handled again.
	// While another attempt holds the claim, it waits until that attempt
	// completes (then it returns done and the answer), releases the claim
	// or lets it lapse (then it claims the key), or ctx ends (then it
	// returns an error matching ctx.Err()). When it returns done=false and
	// a nil error, owner holds the claim and must Complete or Release it.
	Acquire(ctx context.Context, key, owner string, keepUntil time.Time) (answer []byte, done bool, err error)

	// Extend renews, for another lease, each of claims that its owner
	// still holds, in one batch, and returns those it does not hold (nil
	// when all were renewed). An error means the store failed; lost is
	// then unknown.
	Extend(ctx context.Context, claims []Claim) (lost []Claim, err error)

	// Complete records that owner's attempt handled the push and answered
	// answer (nil for "success"): every later Acquire of key, until
	// keepUntil or for the store's TTL if that ends later, gets it. It
	// returns ErrNotOwner, and records nothing, if owner does not hold the
	// claim.
	Complete(ctx context.Context, key, owner string, answer []byte, keepUntil time.Time) error

	// Release ends owner's claim without an answer, so that the next
	// attempt handles the push. It returns ErrNotOwner if owner does not
	// hold the claim.
	Release(ctx context.Context, key, owner string) error
}

// Claim is one attempt's claim on a push: the push's [DedupKey] and the
// attempt's owner token.
type Claim struct {
	Key, Owner string
}

// Timing of deduplication. WeChat retries a push twice, within about 15
// seconds of the first attempt.
const (
	// RetryWindow is how long after a push WeChat may still retry it, and
	// the margin a handled push is kept past the last moment its signature
	// is accepted.
	RetryWindow = 15 * time.Second

	// DedupRenewInterval is how often a Receiver extends the claims of the
	// HandlerFuncs still running.
	DedupRenewInterval = 2 * time.Second

	// DefaultDedupLease is how long a claim lasts unless extended: longer
	// than WeChat's 5-second timeout and several renewals, shorter than the
	// time WeChat's last retry waits, so a crashed instance's push is
	// handled by that retry.
	DefaultDedupLease = 8 * time.Second

	// DefaultDedupTTL is the least time a handled push and its answer are
	// kept; a Receiver asks for longer (see [Deduper]): with the default
	// Tolerance, 5 minutes 15 seconds past the push's timestamp.
	DefaultDedupTTL = 4 * RetryWindow

	// DefaultDedupMaxEntries bounds a MemoryDedup's handled pushes: 2^20,
	// enough to keep every push for its whole window (timestamp plus
	// twice the default Tolerance, for a clock skewed by the most it
	// allows, plus RetryWindow: 10 minutes 15 seconds) at 1,700 pushes a
	// second, and at 1,000 pushes a second whatever the skew.
	DefaultDedupMaxEntries = 1 << 20

	// dedupWarnInterval is the least time between two of MemoryDedup's
	// warnings of pushes evicted inside their window.
	dedupWarnInterval = time.Minute
)

// MemoryDedup is the in-memory [Deduper] of a backend of one instance, and
// the default of a [Receiver]. Its zero value is ready to use.
//
// It keeps each handled push until the keep-until time the Receiver
// passes, or for TTL if that is later, evicting by age. An entry holds no
// key, only a 128-bit keyed hash of it: about 100 bytes a push in all
// (map slot, queue slot and the map's spare room; measured by
// TestMemoryDedupEntrySize), plus the answer when it is not "success".
// With the default Tolerance a push is kept about 5 minutes 15 seconds:
// about 3 MB at 100 pushes a second, 32 MB at 1,000. Past MaxEntries it
// evicts the oldest first; evicting one still inside its window, whose
// retry or replay would then be handled again, is counted and logged to
// Logger as one warning a minute at most, with the count. With the
// defaults that happens above about 3,000 pushes a second (1,700 if
// WeChat's clock runs the full Tolerance ahead).
//
// A claim lives in memory, with the process, so no crash can orphan it;
// it still lapses after Lease unless extended, as a claim of any store
// does.
type MemoryDedup struct {
	// TTL is the least time a handled push is kept: 0 means
	// DefaultDedupTTL.
	TTL time.Duration

	// Lease is how long a claim lasts unless extended: 0 means
	// DefaultDedupLease.
	Lease time.Duration

	// MaxEntries bounds the handled pushes kept: 0 means
	// DefaultDedupMaxEntries.
	MaxEntries int

	// Now is the clock; nil means time.Now. A Receiver sets it to its own
	// Config.Now on the MemoryDedup it makes.
	Now func() time.Time

	// Logger receives the warnings of pushes evicted inside their window;
	// nil means slog.Default(). A Receiver sets it to its own
	// Config.Logger on the MemoryDedup it makes.
	Logger *slog.Logger

	mu      sync.Mutex
	seeds   [2]maphash.Seed
	claims  map[dedupHash]memClaim
	done    map[dedupHash]memDone
	queue   []queued // handled entries, oldest first
	head    int      // queue[:head] are gone
	evicted int      // evicted inside their window since the last warning
	warned  int64    // the last warning, in Unix nanoseconds; 0 if none
}

// dedupHash is a key's 128-bit hash, under seeds of the MemoryDedup's own.
type dedupHash [2]uint64

// memClaim is a claim held.
type memClaim struct {
	owner   string
	expires int64         // the lease's end, in Unix nanoseconds
	release chan struct{} // made for the first waiter; closed when the claim ends
}

// memDone is a handled push: its answer ("" for "success") kept until.
type memDone struct {
	until  int64 // Unix nanoseconds
	answer string
}

// queued is a handled push in the eviction queue, with its until when
// queued (an entry extended since is queued again when this one is due).
type queued struct {
	h     dedupHash
	until int64
}

// Acquire implements [Deduper].
func (d *MemoryDedup) Acquire(ctx context.Context, key, owner string, keepUntil time.Time) ([]byte, bool, error) {
	for {
		d.mu.Lock()
		h := d.hash(key)
		now := d.now().UnixNano()
		d.expire(now)
		if e, ok := d.done[h]; ok && now < e.until {
			if !keepUntil.IsZero() && keepUntil.UnixNano() > e.until {
				e.until = keepUntil.UnixNano()
				d.done[h] = e
			}
			d.mu.Unlock()
			if e.answer == "" {
				return nil, true, nil
			}
			return []byte(e.answer), true, nil
		}
		c, held := d.claims[h]
		if !held || now >= c.expires { // free, or the lease lapsed
			if c.release != nil {
				close(c.release)
			}
			if d.claims == nil {
				d.claims = make(map[dedupHash]memClaim)
			}
			d.claims[h] = memClaim{owner: owner, expires: now + int64(d.lease())}
			d.mu.Unlock()
			return nil, false, nil
		}
		if c.release == nil {
			c.release = make(chan struct{})
			d.claims[h] = c
		}
		release, wait := c.release, time.Duration(c.expires-now)
		d.mu.Unlock()
		lapse := time.NewTimer(wait)
		select {
		case <-release:
		case <-lapse.C:
		case <-ctx.Done():
			lapse.Stop()
			return nil, false, ctx.Err()
		}
		lapse.Stop()
	}
}

// Extend implements [Deduper].
func (d *MemoryDedup) Extend(_ context.Context, claims []Claim) ([]Claim, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	expires := d.now().UnixNano() + int64(d.lease())
	var lost []Claim
	for _, cl := range claims {
		h := d.hash(cl.Key)
		c, ok := d.claims[h]
		if !ok || c.owner != cl.Owner {
			lost = append(lost, cl)
			continue
		}
		c.expires = expires
		d.claims[h] = c
	}
	return lost, nil
}

// Complete implements [Deduper].
func (d *MemoryDedup) Complete(_ context.Context, key, owner string, answer []byte, keepUntil time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.hash(key)
	if err := d.endClaim(h, owner); err != nil {
		return err
	}
	now := d.now().UnixNano()
	until := now + int64(d.ttl())
	if !keepUntil.IsZero() && keepUntil.UnixNano() > until {
		until = keepUntil.UnixNano()
	}
	if d.done == nil {
		d.done = make(map[dedupHash]memDone)
	}
	d.done[h] = memDone{until: until, answer: string(answer)}
	d.queue = append(d.queue, queued{h, until})
	d.expire(now)
	return nil
}

// Release implements [Deduper].
func (d *MemoryDedup) Release(_ context.Context, key, owner string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.endClaim(d.hash(key), owner)
}

// endClaim ends owner's claim on h, waking its waiters, or returns
// ErrNotOwner. d.mu is held.
func (d *MemoryDedup) endClaim(h dedupHash, owner string) error {
	c, ok := d.claims[h]
	if !ok || c.owner != owner {
		return ErrNotOwner
	}
	delete(d.claims, h)
	if c.release != nil {
		close(c.release)
	}
	return nil
}

// hash returns key's hash, choosing the seeds on first use. d.mu is held.
func (d *MemoryDedup) hash(key string) dedupHash {
	if d.seeds == [2]maphash.Seed{} {
		d.seeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
	}
	return dedupHash{maphash.String(d.seeds[0], key), maphash.String(d.seeds[1], key)}
}

// expire forgets handled pushes past their time, and the oldest beyond
// MaxEntries, counting those still inside their window, and warns of them
// at most once per dedupWarnInterval. d.mu is held.
func (d *MemoryDedup) expire(now int64) {
	limit := d.MaxEntries
	if limit <= 0 {
		limit = DefaultDedupMaxEntries
	}
	for d.head < len(d.queue) {
		q := d.queue[d.head]
		over := len(d.done) > limit
		if !over && now < q.until {
			break
		}
		d.queue[d.head] = queued{}
		d.head++
		e, ok := d.done[q.h]
		switch {
		case !ok:
		case over:
			if now < e.until {
				d.evicted++
			}
			delete(d.done, q.h)
		case now < e.until: // extended since it was queued
			d.queue = append(d.queue, queued{q.h, e.until})
		default:
			delete(d.done, q.h)
		}
	}
	if d.head > len(d.queue)/2 { // reclaim the forgotten half
		d.queue = append(d.queue[:0], d.queue[d.head:]...)
		d.head = 0
	}
	if d.evicted > 0 && (d.warned == 0 || now-d.warned >= int64(dedupWarnInterval)) {
		d.logger().Warn("csmsg: handled pushes were evicted inside their window; a retry or replay of them would be handled again: raise MemoryDedup.MaxEntries",
			slog.Int("evicted", d.evicted), slog.Int("max_entries", limit))
		d.evicted, d.warned = 0, now
	}
}

func (d *MemoryDedup) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *MemoryDedup) ttl() time.Duration {
	if d.TTL > 0 {
		return d.TTL
	}
	return DefaultDedupTTL
}

func (d *MemoryDedup) lease() time.Duration {
	if d.Lease > 0 {
		return d.Lease
	}
	return DefaultDedupLease
}

func (d *MemoryDedup) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

// DedupKey returns the key that identifies msg across WeChat's retries, and
// tells apart any two pushes that differ. A push with a MsgId, typed or
// not, is its mini program, its sender and its MsgId, its exact text
// whether it came as a number or a string (a MsgId alone has been seen to
// collide across users): "msg|15:gh_97417a04a28d|28:o9Ag...|6054...",
// each name after its length. Any other push is its mini program,
// its sender and a SHA-256 of the whole message: for an [Unknown] its Raw
// body, for a typed one its JSON as [Marshal] writes it. WeChat resends the
// same message, so a retry has the same key, in safe mode too, where only
// the encryption differs.
func DedupKey(msg Message) string {
	h := headerOf(msg)
	if h == nil {
		return ""
	}
	// Lengths first, so that no "|" inside a field can make two keys meet.
	prefix := strconv.Itoa(len(h.ToUserName)) + ":" + h.ToUserName + "|" +
		strconv.Itoa(len(h.FromUserName)) + ":" + h.FromUserName + "|"
	if id := msgIDOf(msg); id != "" {
		return "msg|" + prefix + id
	}
	whole := msgRaw(msg)
	if whole == nil {
		var err error
		if whole, err = Marshal(msg, FormatJSON); err != nil {
			// Only a message built by hand fails, with a string JSON
			// cannot carry: the error names the field and the problem.
			whole = []byte(err.Error())
		}
	}
	sum := sha256.Sum256(whole)
	return "sum|" + prefix + hex.EncodeToString(sum[:16])
}

// msgIDOf returns the MsgID of msg, typed or Unknown, or "".
func msgIDOf(msg Message) string {
	if u, ok := msg.(*Unknown); ok {
		return u.MsgID
	}
	k, h, ptrs := kindOfMessage(msg)
	if h == nil {
		return ""
	}
	return k.msgIDOf(ptrs)
}

// msgRaw returns the body of an Unknown, or nil.
func msgRaw(msg Message) []byte {
	if u, ok := msg.(*Unknown); ok && u != nil {
		return u.Raw
	}
	return nil
}
