package csmsg

import (
	"errors"
	"fmt"
)

// The wire names of the known fields: the index that finds a name's field,
// and the order in which the scanners predict the names. registerKinds
// builds both from the kinds table; nothing here reads the table.

// maxNameLen bounds a wire name's length. WeChat's longest field names
// are about 21 bytes (SubscribeStatusString); a name of more than 16 bytes
// is found by lookupField, never by the scanners' two-word fast path.
const maxNameLen = 32

// headerOrder is the order in which WeChat writes the header's fields,
// before the kind's.
var headerOrder = [...]field{fToUserName, fFromUserName, fCreateTime, fMsgType}

// headerNames are the wire names of the header's fields.
var headerNames = [numHeaderFields]string{
	fToUserName:   "ToUserName",
	fFromUserName: "FromUserName",
	fCreateTime:   "CreateTime",
	fMsgType:      "MsgType",
	fEvent:        "Event",
	fEncrypt:      "Encrypt",
	fMsgID:        "MsgId",
}

// Errors of a wire name or a set of them that do not fit the index: the
// limits of the kinds table (see kindTable).
var (
	errTooManyNames = fmt.Errorf("more than maxFields (%d) wire names in all, the header's %d among them", maxFields, numHeaderFields)
	errNameLength   = fmt.Errorf("a wire name is 1 to maxNameLen (%d) bytes", maxNameLen)
	errNameBytes    = errors.New("a wire name is an ASCII XML name: a letter or '_', then letters, digits, '_', '-' or '.'")
	errNoHash       = errors.New("no collision-free hash of the wire names")
)

// checkName checks that name can be a known field's wire name: the
// scanners take a known name without checking its bytes.
func checkName(name string) error {
	if len(name) == 0 || len(name) > maxNameLen {
		return fmt.Errorf("%q: %w", name, errNameLength)
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) || i == 0 && !isNameStart(name[0]) {
			return fmt.Errorf("%q: %w", name, errNameBytes)
		}
	}
	return nil
}

// nameKey is the part of a name the index hashes and compares, as two
// little-endian words: its first eight bytes and the next eight, each
// padded with zeros; the bytes past 16, if any, are folded in with XOR.
// With the name's length it is the name, for a name of up to 16 bytes.
type nameKey struct{ lo, hi uint64 }

// keyOf returns name's key, or false if name is not 1 to maxNameLen bytes
// long.
func keyOf[T string | []byte](name T) (nameKey, bool) {
	if len(name) == 0 || len(name) > maxNameLen {
		return nameKey{}, false
	}
	var k nameKey
	for i := 0; i < len(name); i++ {
		if i&15 < 8 {
			k.lo ^= uint64(name[i]) << (8 * (i & 7))
		} else {
			k.hi ^= uint64(name[i]) << (8 * (i & 7))
		}
	}
	return k, true
}

// fieldTable holds the known names, each field's at its number, and a hash
// table of them without collisions: build picks a multiplier that gives
// each name a slot of its own, so that a lookup is one probe.
type fieldTable struct {
	names [maxFields]string // each known field's wire name; n of them are in use
	n     int
	mul   uint64
	slots [1 << hashBits]fieldSlot
}

// fieldSlot is a slot of a fieldTable.
type fieldSlot struct {
	key nameKey
	n   uint8 // the name's length; emptySlot for an empty slot
	f   field
}

const (
	hashBits  = 7
	emptySlot = 0xFF // longer than any name
)

// newFieldTable returns the table of the header's names and then names,
// each checked (checkName) and numbered in turn: it returns the table and
// an error naming the limit, if any, that names break.
func newFieldTable(names []string) (fieldTable, error) {
	var t fieldTable
	t.n = copy(t.names[:], headerNames[:])
	for _, name := range names {
		if err := checkName(name); err != nil {
			return fieldTable{}, err
		}
		if t.n == maxFields {
			return fieldTable{}, errTooManyNames
		}
		t.names[t.n] = name
		t.n++
	}
	if err := t.build(); err != nil {
		return fieldTable{}, err
	}
	return t, nil
}

// slot returns the slot of a key.
func (t *fieldTable) slot(k nameKey) uint64 {
	return ((k.lo ^ k.hi) * t.mul) >> (64 - hashBits)
}

// build fills the slots with the n names, trying multipliers until every
// name has a slot of its own.
func (t *fieldTable) build() error {
	mul := uint64(0x9E3779B97F4A7C15)
	for try := 0; try < 1<<16; try, mul = try+1, mul+0x3C6EF372FE94F82A { // odd plus even: odd
		t.mul = mul
		for i := range t.slots {
			t.slots[i] = fieldSlot{n: emptySlot}
		}
		ok := true
		for f := field(0); int(f) < t.n && ok; f++ {
			k, _ := keyOf(t.names[f])
			e := &t.slots[t.slot(k)]
			ok = e.n == emptySlot
			e.key, e.n, e.f = k, uint8(len(t.names[f])), f
		}
		if ok {
			return nil
		}
	}
	// Two names whose keys have the same XOR (or a repeated name, which
	// registerKinds does not pass).
	return errNoHash
}

// lookupKey returns the field whose name is n bytes long, at most 16, and
// has key k.
func (t *fieldTable) lookupKey(k nameKey, n int) (field, bool) {
	e := &t.slots[t.slot(k)]
	return e.f, e.key == k && int(e.n) == n
}

// lookupField returns the field of t whose wire name is exactly name
// (case-sensitively).
func lookupField[T string | []byte](t *fieldTable, name T) (field, bool) {
	k, ok := keyOf(name)
	if !ok {
		return 0, false
	}
	f, ok := t.lookupKey(k, len(name))
	if ok && len(name) > 16 {
		ok = t.names[f] == string(name) // the key holds the bytes past 16 folded
	}
	return f, ok
}

// nameOrder predicts the names in a push. WeChat writes them in one order:
// the header's (headerOrder), then the kind's, as the kinds table lists
// them. A scanner compares each JSON key or XML tag with the predicted name
// (two masked words and the byte after the name) before it finds the
// name's length and hashes it (lookupKey). The prediction is the name that
// follows the one before, or, after MsgType, the first field of the kind
// whose MsgType starts with the same byte as the value.
type nameOrder struct {
	next      [maxFields]field         // the key that follows each; noField at the end
	byMsgType [256]field               // the kind's first key, by MsgType's first byte
	words     [maxFields + 1]nameWords // each name as the scanners compare it
}

// kindOrder is what keyOrder needs of a kind: the first byte of its
// MsgType, and its fields beside the header, in wire order.
type kindOrder struct {
	first  byte
	fields []field
}

// newKeyOrder returns the predictions for the names of t and the kinds
// ks, in the table's order.
func newKeyOrder(t *fieldTable, ks []kindOrder) (o nameOrder) {
	for f := range o.next {
		o.next[f] = noField
	}
	for c := range o.byMsgType {
		o.byMsgType[c] = noField
	}
	for _, k := range ks {
		if len(k.fields) > 0 && o.byMsgType[k.first] == noField { // the first kind wins
			o.byMsgType[k.first] = k.fields[0]
		}
		order := append(headerOrder[:len(headerOrder):len(headerOrder)], k.fields...)
		for i, f := range order[:len(order)-1] {
			if o.next[f] == noField { // the first kind to go on from f wins
				o.next[f] = order[i+1]
			}
		}
	}
	for c, f := range o.byMsgType {
		if f == noField { // a MsgType of no kind: the first kind's guess
			o.byMsgType[c] = o.next[fMsgType]
		}
	}
	o.words[noField] = nameWords{key: nameKey{lo: 1}} // its masks are 0: every masked word is 0, never 1
	for f := field(0); int(f) < t.n; f++ {
		name := t.names[f]
		if len(name) > 15 {
			o.words[f] = o.words[noField] // the scanners read 16 bytes: a name and the byte after it
			continue
		}
		k, _ := keyOf(name)
		o.words[f] = nameWords{key: k, n: len(name), loMask: byteMask(len(name)), hiMask: byteMask(len(name) - 8)}
	}
	return o
}

// noField is no field: keyOrder's prediction after the last key.
const noField = field(maxFields)

// nameWords is a name as the scanners compare the 16 bytes of a key or tag
// with it: its key, the masks of its bytes in the two words, and its
// length.
type nameWords struct {
	key            nameKey
	loMask, hiMask uint64
	n              int
}

// at reports whether b[i:] holds w's name followed by the byte end, given
// lo and hi, the two words at b[i:]: b must hold 16 bytes there.
func (w *nameWords) at(b []byte, i int, lo, hi uint64, end byte) bool {
	return lo&w.loMask == w.key.lo && hi&w.hiMask == w.key.hi && b[i+w.n] == end
}

// byteMask is the mask of the low n bytes of a word, n clamped to 0..8.
func byteMask(n int) uint64 {
	switch {
	case n <= 0:
		return 0
	case n >= 8:
		return ^uint64(0)
	}
	return 1<<(8*n) - 1
}
