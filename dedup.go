package csmsg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// Deduper is where a [Receiver.Handler] records which pushes it has
// handled and what it answered, so that each push is handled once although
// WeChat sends it up to three times (it gives up on an answer after 5
// seconds), and, with a store shared between them, once across several
// instances. It is the extension point for such a store: [MemoryDedup]
// serves one instance, the redisdedup module many.
//
// Each attempt at a push claims the push's key ([DedupKey]) under an owner,
// a token unique to the attempt, and only that owner can extend, complete
// or release the claim. A claim lapses after the store's lease unless it is
// extended, so that a push whose attempt died with its instance is handled
// by a later retry. The Handler extends its claims every
// [DedupRenewInterval] while its HandlerFunc runs; a store's lease must be
// several times longer.
//
// Implementations must be safe for concurrent use.
type Deduper interface {
	// Acquire claims key for owner's attempt. If an earlier attempt
	// completed, it returns that attempt's answer and done: the push must
	// not be handled again. While another attempt holds the claim, it
	// waits until that attempt completes (then it returns done and the
	// answer), releases the claim or lets it lapse (then it claims the key),
	// or ctx ends (then it returns an error matching ctx.Err()). When it
	// returns done=false and a nil error, owner holds the claim and must
	// Complete or Release it.
	Acquire(ctx context.Context, key, owner string) (answer []byte, done bool, err error)

	// Extend renews owner's claim on key for another lease. It returns
	// ErrNotOwner if owner does not hold the claim.
	Extend(ctx context.Context, key, owner string) error

	// Complete records that owner's attempt handled the push and answered
	// answer (nil for "success"): every later Acquire of key, for the
	// store's TTL, gets it. It returns ErrNotOwner, and records nothing, if
	// owner does not hold the claim.
	Complete(ctx context.Context, key, owner string, answer []byte) error

	// Release ends owner's claim without an answer, so that the next
	// attempt handles the push. It returns ErrNotOwner if owner does not
	// hold the claim.
	Release(ctx context.Context, key, owner string) error
}

// Timing of deduplication. WeChat retries a push twice, within about 15
// seconds of the first attempt; the defaults keep a handled push for four
// times that.
const (
	// RetryWindow is how long after a push WeChat may still retry it.
	RetryWindow = 15 * time.Second

	// DedupRenewInterval is how often the Handler extends the claim of a
	// HandlerFunc still running.
	DedupRenewInterval = 2 * time.Second

	// DefaultDedupLease is how long a claim lasts unless extended: longer
	// than WeChat's 5-second timeout and several renewals, shorter than the
	// time WeChat's last retry waits, so a crashed instance's push is
	// handled by that retry.
	DefaultDedupLease = 8 * time.Second

	// DefaultDedupTTL is how long a handled push and its answer are kept.
	DefaultDedupTTL = 4 * RetryWindow

	// DefaultDedupMaxEntries bounds a MemoryDedup's handled pushes.
	DefaultDedupMaxEntries = 100_000
)

// MemoryDedup is the in-memory [Deduper] of a backend of one instance, and
// the default of a [Receiver]. Its zero value is ready to use.
//
// It keeps each handled push for TTL, evicting by age. Its memory is about
// 300 bytes a push plus the answer: TTL times the push rate, 60 seconds of
// pushes by default. Past MaxEntries it evicts the oldest first; evicting
// one handled less than [RetryWindow] ago, which a retry may still need,
// is logged to Logger as a warning. With the defaults that happens above
// about 6,600 pushes a second.
type MemoryDedup struct {
	// TTL is how long a handled push is kept: 0 means DefaultDedupTTL.
	TTL time.Duration

	// Lease is how long a claim lasts unless extended: 0 means
	// DefaultDedupLease.
	Lease time.Duration

	// MaxEntries bounds the handled pushes kept: 0 means
	// DefaultDedupMaxEntries.
	MaxEntries int

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Logger receives a warning for each push evicted inside the retry
	// window; nil means slog.Default(). A Receiver sets it to its own
	// Config.Logger on the MemoryDedup it makes.
	Logger *slog.Logger

	mu      sync.Mutex
	entries map[string]*dedupEntry
	done    []*dedupEntry // handled entries, oldest first
	head    int           // done[:head] are gone
}

// dedupEntry is one key: claimed by owner until done.
type dedupEntry struct {
	key, owner string
	done       bool
	answer     []byte
	expires    time.Time     // the claim's lease, or the answer's TTL
	handled    time.Time     // when done
	release    chan struct{} // closed when the claim ends
}

// Acquire implements [Deduper].
func (d *MemoryDedup) Acquire(ctx context.Context, key, owner string) ([]byte, bool, error) {
	for {
		d.mu.Lock()
		now := d.now()
		d.expire(now)
		e := d.entries[key]
		if e != nil && e.done {
			answer := e.answer
			d.mu.Unlock()
			return answer, true, nil
		}
		if e == nil || !now.Before(e.expires) { // free, or the lease lapsed
			if e != nil {
				close(e.release)
			}
			if d.entries == nil {
				d.entries = make(map[string]*dedupEntry)
			}
			d.entries[key] = &dedupEntry{key: key, owner: owner, expires: now.Add(d.lease()), release: make(chan struct{})}
			d.mu.Unlock()
			return nil, false, nil
		}
		release, wait := e.release, e.expires.Sub(now)
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

// claim returns owner's live claim on key, or ErrNotOwner. d.mu is held.
func (d *MemoryDedup) claim(key, owner string) (*dedupEntry, error) {
	e := d.entries[key]
	if e == nil || e.done || e.owner != owner {
		return nil, ErrNotOwner
	}
	return e, nil
}

// Extend implements [Deduper].
func (d *MemoryDedup) Extend(_ context.Context, key, owner string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, err := d.claim(key, owner)
	if err != nil {
		return err
	}
	e.expires = d.now().Add(d.lease())
	return nil
}

// Complete implements [Deduper].
func (d *MemoryDedup) Complete(_ context.Context, key, owner string, answer []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, err := d.claim(key, owner)
	if err != nil {
		return err
	}
	now := d.now()
	e.done, e.answer, e.handled = true, bytes.Clone(answer), now
	e.expires = now.Add(d.ttl())
	d.done = append(d.done, e)
	close(e.release)
	d.expire(now)
	return nil
}

// Release implements [Deduper].
func (d *MemoryDedup) Release(_ context.Context, key, owner string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, err := d.claim(key, owner)
	if err != nil {
		return err
	}
	delete(d.entries, key)
	close(e.release)
	return nil
}

// expire forgets handled pushes past their TTL, and the oldest beyond
// MaxEntries, warning of any of those handled inside the retry window.
// d.mu is held.
func (d *MemoryDedup) expire(now time.Time) {
	limit := d.MaxEntries
	if limit <= 0 {
		limit = DefaultDedupMaxEntries
	}
	for d.head < len(d.done) {
		e := d.done[d.head]
		expired := !now.Before(e.expires)
		if !expired && len(d.done)-d.head <= limit {
			break
		}
		if !expired && now.Sub(e.handled) < RetryWindow {
			d.logger().Warn("csmsg: a handled push was evicted inside WeChat's retry window; a retry of it would be handled again: raise MemoryDedup.MaxEntries",
				slog.Int("max_entries", limit), slog.Duration("age", now.Sub(e.handled)))
		}
		if d.entries[e.key] == e {
			delete(d.entries, e.key)
		}
		d.done[d.head] = nil
		d.head++
	}
	if d.head > len(d.done)/2 { // reclaim the forgotten half
		d.done = append(d.done[:0], d.done[d.head:]...)
		d.head = 0
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
