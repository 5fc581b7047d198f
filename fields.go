package csmsg

import (
	"fmt"
	"math/bits"
	"strings"
)

// The wire fields this package knows, and what a decoder finds of them in a
// body.

// field numbers one of the wire fields this package knows: the header's,
// then those of the kinds table, registered as the table is built.
type field uint8

// The header's fields, which every push may carry. The kinds' fields follow.
const (
	fToUserName field = iota
	fFromUserName
	fCreateTime
	fMsgType
	fEvent
	fEncrypt
	fMsgID
	numHeaderFields
)

// headerOrder is the order in which WeChat writes the header's fields,
// before the kind's.
var headerOrder = [...]field{fToUserName, fFromUserName, fCreateTime, fMsgType}

// maxFields bounds the known fields, a bit each in a fieldMask.
const maxFields = 20

// fieldNames holds each known field's wire name, the XML element and the
// JSON key, spelled as WeChat spells them; numFields of them are in use.
var (
	fieldNames = [maxFields]string{
		fToUserName:   "ToUserName",
		fFromUserName: "FromUserName",
		fCreateTime:   "CreateTime",
		fMsgType:      "MsgType",
		fEvent:        "Event",
		fEncrypt:      "Encrypt",
		fMsgID:        "MsgId",
	}
	numFields = int(numHeaderFields)
)

// registerField returns the field of a wire name, adding it if it is new.
// It runs as the kinds table is built, before any parse.
func registerField(name string) field {
	if f, ok := lookupField(name); ok {
		return f
	}
	if numFields == maxFields || len(name) == 0 || len(name) > maxNameLen {
		// A fault in the kinds table, found as the package starts: raise
		// maxFields or maxNameLen.
		panic("csmsg: the kinds table's wire name " + name + " does not fit the field index")
	}
	for i := 0; i < len(name); i++ {
		// The XML scanner takes a known name without checking its bytes.
		if !isNameByte(name[i]) || i == 0 && !isNameStart(name[0]) {
			panic("csmsg: the kinds table's wire name " + name + " is not a name the XML scanner reads")
		}
	}
	f := field(numFields)
	fieldNames[f] = name
	numFields++
	fieldIndex.build()
	return f
}

// fieldIndex finds a wire name's field: a perfect hash of the name held as
// two words, so that a lookup is a multiply and a few integer compares.
var fieldIndex = func() (t fieldTable) {
	t.build()
	return t
}()

// maxNameLen bounds a wire name's length.
const maxNameLen = 16

// nameKey is a name of 1 to maxNameLen bytes as two little-endian words:
// its first eight bytes and the rest, each padded with zeros. With the
// name's length it is the name.
type nameKey struct{ lo, hi uint64 }

// keyOf returns name's key, or false if name is not 1 to maxNameLen bytes
// long.
func keyOf[T string | []byte](name T) (nameKey, bool) {
	if len(name) == 0 || len(name) > maxNameLen {
		return nameKey{}, false
	}
	var k nameKey
	for i := 0; i < len(name); i++ {
		if i < 8 {
			k.lo |= uint64(name[i]) << (8 * i)
		} else {
			k.hi |= uint64(name[i]) << (8 * (i - 8))
		}
	}
	return k, true
}

// load64 reads the little-endian word of b at i; the compiler makes it one
// load.
func load64[T string | []byte](b T, i int) uint64 {
	b = b[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// fieldTable is a hash table of the known names without collisions: build
// picks a multiplier that gives each name a slot of its own, so that a
// lookup is one probe.
type fieldTable struct {
	mul   uint64
	slots [1 << hashBits]struct {
		key nameKey
		n   uint8 // the name's length; emptySlot for an empty slot
		f   field
	}
}

const (
	hashBits  = 7
	emptySlot = 0xFF // longer than any name
)

// slot returns the slot of a key.
func (t *fieldTable) slot(k nameKey) uint64 {
	return ((k.lo ^ k.hi) * t.mul) >> (64 - hashBits)
}

// build fills t with the numFields names, trying multipliers until every
// name has a slot of its own.
func (t *fieldTable) build() {
	mul := uint64(0x9E3779B97F4A7C15)
	for try := 0; try < 1<<16; try, mul = try+1, mul+0x3C6EF372FE94F82A { // odd plus even: odd
		*t = fieldTable{mul: mul}
		for i := range t.slots {
			t.slots[i].n = emptySlot
		}
		ok := true
		for f := field(0); int(f) < numFields && ok; f++ {
			k, _ := keyOf(fieldNames[f])
			e := &t.slots[t.slot(k)]
			ok = e.n == emptySlot
			e.key, e.n, e.f = k, uint8(len(fieldNames[f])), f
		}
		if ok {
			return
		}
	}
	// A fault in the kinds table, found as the package starts: two names
	// whose words have the same XOR, or too many names for hashBits.
	panic("csmsg: no collision-free hash of the kinds table's wire names")
}

// lookupKey returns the field whose name is n bytes long and has key k.
func lookupKey(k nameKey, n int) (field, bool) {
	e := &fieldIndex.slots[fieldIndex.slot(k)]
	return e.f, e.key == k && int(e.n) == n
}

// lookupField returns the field whose wire name is exactly name
// (case-sensitively).
func lookupField[T string | []byte](name T) (field, bool) {
	k, ok := keyOf(name)
	if !ok {
		return 0, false
	}
	return lookupKey(k, len(name))
}

// keyOrder predicts the names in a push. WeChat writes them in one order:
// the header's (headerOrder), then the kind's, as the kinds table lists
// them. A scanner compares each JSON key or XML tag with the predicted name
// (two masked words and the byte after the name) before it finds the
// name's length and hashes it (lookupKey). The prediction is the name that
// follows the one before, or, after MsgType, the first field of the kind
// whose MsgType starts with the same byte as the value.
var keyOrder = func() (o struct {
	next      [maxFields]field         // the key that follows each; noField at the end
	byMsgType [256]field               // the kind's first key, by MsgType's first byte
	words     [maxFields + 1]nameWords // each name as the scanners compare it
}) {
	for f := range o.next {
		o.next[f] = noField
	}
	for c := range o.byMsgType {
		o.byMsgType[c] = noField
	}
	for _, k := range kinds {
		if c := k.msgType[0]; len(k.fields) > 0 && o.byMsgType[c] == noField { // the first kind wins
			o.byMsgType[c] = k.fields[0]
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
	for f := field(0); int(f) < numFields; f++ {
		name := fieldNames[f]
		if len(name) > maxNameLen-1 {
			o.words[f] = o.words[noField] // the scanners read 16 bytes: a name and the byte after it
			continue
		}
		k, _ := keyOf(name)
		o.words[f] = nameWords{key: k, n: len(name), loMask: byteMask(len(name)), hiMask: byteMask(len(name) - 8)}
	}
	return o
}()

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

// numeric reports whether a JSON number is an acceptable value of f, which
// otherwise must be a string: MsgId and CreateTime come as either.
func (f field) numeric() bool { return f == fMsgID || f == fCreateTime }

// fieldMask is a set of fields, a bit each.
type fieldMask uint32

// with returns m with f in it or not.
func (m fieldMask) with(f field, in bool) fieldMask {
	if in {
		return m | 1<<f
	}
	return m &^ (1 << f)
}

// has reports whether f is in m.
func (m fieldMask) has(f field) bool { return m&(1<<f) != 0 }

// allFields holds every field.
const allFields fieldMask = 1<<maxFields - 1

// headerMask holds the fields every kind reads, beside MsgType.
const headerMask fieldMask = 1<<fToUserName | 1<<fFromUserName | 1<<fCreateTime | 1<<fEvent

// check returns ErrMalformed if any field of mask held a wrong value.
func (fs *fields) check(mask fieldMask) error {
	if m := fs.bad & mask; m != 0 {
		return badField(field(bits.TrailingZeros32(uint32(m))))
	}
	return nil
}

// badField is the error for a field holding the wrong kind of value.
func badField(f field) error {
	return fmt.Errorf("%w: %s does not hold a text value", ErrMalformed, fieldNames[f])
}

// fields is what a format's decoder finds in a well-formed body: for each
// known field, the text of its last occurrence ("" when absent or null),
// and whether that occurrence held the wrong kind of value (a JSON value
// that is neither a string, nor null, nor, for MsgId and CreateTime, a
// number; an XML element holding another element). A wrong value is an
// error only for the fields of the kind being built.
//
// A scanner records spans of the body, src (set); the reference decoders
// give values, which [values.fields] turns into spans of their own src.
// Then build reads the values it checks (MsgType, CreateTime...) from src
// (checked), and finish makes the values the message keeps substrings of one
// string that holds them alone, those that need it decoded, and returns
// it: val reads them from it.
//
// src is set where fields is declared, not by the scanners or finish: a
// store of a pointer through a pointer costs a write barrier while the
// collector runs.
type fields struct {
	src    []byte // what the spans index before finish, and nothing after
	span   [maxFields]valueSpan
	bad    fieldMask
	decode fieldMask // the fields whose span needs decoding
	have   fieldMask // the fields set recorded a value for (a string or a number, maybe empty)
}

// valueSpan is where the last value of a known field stands, in 32 bits:
// the scanners leave bodies of 1 GiB or more to the reference decoders
// (maxScanLen). An absent, null or bad value's span is {0, 0}.
type valueSpan struct{ start, end int32 }

// maxScanLen is the longest body the scanners take, so that a span of it
// fits 32 bits.
const maxScanLen = 1<<30 - 1

// val returns the value of f, after finish returned text.
func (fs *fields) val(text string, f field) string {
	sp := fs.span[f]
	return text[sp.start:sp.end]
}

// set records the last occurrence of f, a good value at body[start:end];
// decode is set when the raw text is not the value: it has JSON escapes,
// or XML entities, carriage returns or several CDATA sections.
func (fs *fields) set(f field, start, end int, decode bool) {
	if end <= start {
		start, end, decode = 0, 0, false // "" wherever it stands, before and after finish
	}
	fs.span[f] = valueSpan{int32(start), int32(end)}
	fs.decode = fs.decode.with(f, decode)
	fs.bad &^= 1 << f
	fs.have |= 1 << f
}

// setEmpty records the last occurrence of f, an empty value (JSON null, an
// empty XML element).
func (fs *fields) setEmpty(f field) {
	fs.span[f] = valueSpan{}
	fs.decode &^= 1 << f
	fs.bad &^= 1 << f
	fs.have &^= 1 << f
}

// setBad records the last occurrence of f, a value of the wrong kind.
func (fs *fields) setBad(f field) {
	fs.span[f] = valueSpan{}
	fs.decode &^= 1 << f
	fs.bad |= 1 << f
	fs.have &^= 1 << f
}

// finish returns the values of the fields in want, in a body of format f,
// as one string that holds them and nothing else, decoded where they need
// it (escapes, entities), as the reference decoders would find them, and
// makes the spans index it: one allocation, no larger than the body, and
// the message keeps no more of the body than its values. The other fields
// are empty after it. Values of up to finishBufLen bytes in all (that need
// no XML decoding) are gathered on the stack first, which costs less than
// a strings.Builder's write per value.
func (fs *fields) finish(f Format, want fieldMask) string {
	for m := fs.have &^ want; m != 0; m &= m - 1 {
		fs.span[bits.TrailingZeros32(uint32(m))] = valueSpan{}
	}
	fs.have &= want
	fs.decode &= want
	var text string
	switch {
	case f == FormatXML && fs.decode != 0 || !fs.fits():
		text = fs.write(f)
	case len(fs.src) <= smallBufLen:
		var buf [smallBufLen]byte // less to zero
		text = fs.gather(buf[:])
	default:
		var buf [finishBufLen]byte
		text = fs.gather(buf[:])
	}
	fs.decode = 0
	return text
}

// finishBufLen bounds the values finish gathers on the stack; a body of
// up to smallBufLen bytes has its values gathered in a buffer of that size,
// which costs less to zero.
const (
	finishBufLen = 512
	smallBufLen  = 256
)

// fits reports whether the values fit finish's buffer: they do when the
// body does, since the spans of different fields do not overlap, and a
// decoded value is never longer than its raw text.
func (fs *fields) fits() bool {
	return len(fs.src) <= finishBufLen || fs.rawLen() <= finishBufLen
}

// rawLen is the length of the values' raw text, in all.
func (fs *fields) rawLen() int {
	n := 0
	for m := fs.have; m != 0; m &= m - 1 {
		sp := fs.span[bits.TrailingZeros32(uint32(m))]
		n += int(sp.end - sp.start)
	}
	return n
}

// gather is finish's copy of the values into buf, which holds them: it
// returns them as one string, and makes the spans index it.
func (fs *fields) gather(buf []byte) string {
	at := 0
	for m := fs.have; m != 0; m &= m - 1 {
		fd := field(bits.TrailingZeros32(uint32(m)))
		sp := &fs.span[fd]
		start := at
		if fs.decode.has(fd) {
			at += decodeJSONInto(buf[at:], fs.src[sp.start:sp.end])
		} else {
			at += copy(buf[at:], fs.src[sp.start:sp.end])
		}
		*sp = valueSpan{int32(start), int32(at)}
	}
	return string(buf[:at])
}

// write is gather through a strings.Builder, for values too long for the
// stack or that need XML decoding.
func (fs *fields) write(f Format) string {
	var b strings.Builder
	b.Grow(fs.rawLen())
	for m := fs.have; m != 0; m &= m - 1 {
		fd := field(bits.TrailingZeros32(uint32(m)))
		sp := &fs.span[fd]
		start := int32(b.Len())
		if fs.decode.has(fd) {
			decodeValue(&b, fs.src[sp.start:sp.end], f)
		} else {
			b.Write(fs.src[sp.start:sp.end])
		}
		*sp = valueSpan{start, int32(b.Len())}
	}
	return b.String()
}

// raw returns the value of fd, before finish, in a body of format f, as
// bytes: a slice of src when it needs no decoding, a copy otherwise.
func (fs *fields) raw(fd field, f Format) []byte {
	v := fs.checked(fd)
	if !fs.decode.has(fd) {
		return v
	}
	var b strings.Builder
	decodeValue(&b, v, f)
	return []byte(b.String())
}

// checked returns the value of fd, before finish, as a slice of src: one
// of checkedFields in build, or any value that needs no decoding.
func (fs *fields) checked(fd field) []byte {
	sp := fs.span[fd]
	return fs.src[sp.start:sp.end]
}

// decodeValue writes the value of a span that needs decoding: its result is
// never longer than the raw text.
func decodeValue(w *strings.Builder, raw []byte, f Format) {
	if f == FormatXML {
		decodeXMLContent(w, raw)
	} else {
		decodeJSONString(w, raw)
	}
}

// values are the fields of a body as plain strings: what the reference
// decoders find, and what the tests compare across both paths.
type values struct {
	val [maxFields]string
	bad fieldMask
}

// set records the last occurrence of f.
func (v *values) set(f field, val string, bad bool) {
	v.val[f] = val
	v.bad = v.bad.with(f, bad)
}

// fields returns v as fields, before finish: its values concatenated into
// one src.
func (v *values) fields() (fields, error) {
	var fs fields
	n := 0
	for _, s := range v.val {
		n += len(s)
	}
	if n > maxScanLen {
		return fields{}, fmt.Errorf("%w: values longer than %d bytes", ErrMalformed, maxScanLen)
	}
	src := make([]byte, 0, n)
	for f, s := range v.val {
		if s != "" {
			start := len(src)
			src = append(src, s...)
			fs.set(field(f), start, len(src), false)
		}
	}
	fs.bad = v.bad // an XML value may be bad and not empty
	fs.src = src
	return fs, nil
}

// values finishes fs with every field and returns its values.
func (fs *fields) values(f Format) values {
	text := fs.finish(f, allFields)
	v := values{bad: fs.bad}
	for fd := field(0); fd < maxFields; fd++ {
		v.val[fd] = fs.val(text, fd)
	}
	return v
}
