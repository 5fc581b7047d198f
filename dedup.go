package csmsg

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// Deduper remembers which pushes have been handled, so that the
// [Receiver.Handler] handles each push once although WeChat retries it
// (three attempts in all) when an answer is late or not 200. Keys come from
// [DedupKey].
//
// The Handler calls Acquire before it calls the HandlerFunc, and Release
// after, whatever happens, even a panic. Implementations must be safe for
// concurrent use. [MemoryDedup] is the in-memory one; a backend of several
// instances needs one shared between them (Redis SET NX with an expiry,
// for instance), whose in-flight claims should expire after a lease a little
// longer than WeChat's 5-second timeout, so that a crashed instance does not
// hold a key for ever.
type Deduper interface {
	// Acquire claims key for one attempt. It returns done=true if an
	// attempt at key has already succeeded: the push must not be handled
	// again. While another attempt at key is in flight it waits, until that
	// attempt is released or ctx ends (then it returns ctx's error); if that
	// attempt failed, the caller gets the key. When Acquire returns
	// done=false and a nil error, the caller holds key and must Release it.
	Acquire(ctx context.Context, key string) (done bool, err error)

	// Release ends the caller's attempt at key. With succeeded, key is
	// remembered as done; otherwise it is freed, so the next retry is
	// handled.
	Release(ctx context.Context, key string, succeeded bool) error
}

// Defaults of a MemoryDedup's zero fields.
const (
	DefaultDedupSize = 10000
	DefaultDedupTTL  = 5 * time.Minute
)

// MemoryDedup is an in-memory [Deduper] for a backend of one instance, and
// the default of a [Receiver]. Its zero value is ready to use.
type MemoryDedup struct {
	// Size bounds how many handled keys are remembered: 0 means
	// DefaultDedupSize. When it is reached, the oldest key is forgotten.
	// Keys in flight are not counted.
	Size int

	// TTL is how long a handled key is remembered: 0 means DefaultDedupTTL,
	// which covers WeChat's retries with room to spare.
	TTL time.Duration

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	entries map[string]*dedupEntry
	done    []*dedupEntry // handled entries, oldest first
	head    int           // done[:head] are gone
}

// dedupEntry is one key: in flight until done.
type dedupEntry struct {
	key     string
	done    bool
	expires time.Time     // when done
	release chan struct{} // closed when the attempt in flight ends
}

// Acquire implements [Deduper].
func (d *MemoryDedup) Acquire(ctx context.Context, key string) (bool, error) {
	for {
		d.mu.Lock()
		d.expire()
		e := d.entries[key]
		if e == nil {
			if d.entries == nil {
				d.entries = make(map[string]*dedupEntry)
			}
			d.entries[key] = &dedupEntry{key: key, release: make(chan struct{})}
			d.mu.Unlock()
			return false, nil
		}
		if e.done {
			d.mu.Unlock()
			return true, nil
		}
		d.mu.Unlock()
		select {
		case <-e.release:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// Release implements [Deduper].
func (d *MemoryDedup) Release(_ context.Context, key string, succeeded bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.entries[key]
	if e == nil || e.done {
		return nil
	}
	if succeeded {
		e.done = true
		e.expires = d.now().Add(d.ttl())
		d.done = append(d.done, e)
		d.expire()
	} else {
		delete(d.entries, key)
	}
	close(e.release)
	return nil
}

// expire forgets handled keys past their TTL, and the oldest beyond Size.
// d.mu is held.
func (d *MemoryDedup) expire() {
	size := d.Size
	if size <= 0 {
		size = DefaultDedupSize
	}
	now := d.now()
	for d.head < len(d.done) {
		e := d.done[d.head]
		if len(d.done)-d.head <= size && now.Before(e.expires) {
			break
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

// DedupKey returns the key that identifies msg across WeChat's retries: the
// mini program and sender, then the MsgID for a message that has one,
// CreateTime and Event for an event, CreateTime and MsgType otherwise. (A
// MsgID alone has been seen to collide across users.)
func DedupKey(msg Message) string {
	var msgID, event string
	h := headerOf(msg)
	if u, ok := msg.(*Unknown); ok && h != nil {
		event = u.Event
	} else if k, _, wf := kindOfMessage(msg); k != nil && h != nil {
		for i, f := range k.fields {
			switch f {
			case fMsgID:
				msgID = *wf[i]
			case fEvent:
				event = *wf[i]
			}
		}
	}
	if h == nil {
		return ""
	}
	prefix := h.ToUserName + "|" + h.FromUserName + "|"
	ct := strconv.FormatInt(h.CreateTime, 10)
	switch {
	case msgID != "":
		return "msg|" + prefix + msgID
	case h.MsgType == MsgTypeEvent:
		return "event|" + prefix + ct + "|" + event
	default:
		return "type|" + prefix + ct + "|" + h.MsgType
	}
}
