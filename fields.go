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
	if n := len(name); numFields == maxFields || n < 4 || n > maxNameLen || fieldIndex[n].n == maxSameLen {
		// A fault in the kinds table, found as the package starts: raise
		// maxFields, maxNameLen or maxSameLen.
		panic("csmsg: the kinds table's wire name " + name + " does not fit the field index")
	}
	f := field(numFields)
	fieldNames[f] = name
	numFields++
	fieldIndex.add(name, f)
	return f
}

// fieldIndex finds a wire name's field: the names of each length, each
// held as two words, so that a lookup is a few integer compares.
var fieldIndex = func() (t fieldTable) {
	for f := field(0); f < numHeaderFields; f++ {
		t.add(fieldNames[f], f)
	}
	return t
}()

// maxNameLen bounds a wire name's length, and maxSameLen how many names
// share a length.
const (
	maxNameLen = 16
	maxSameLen = 8
)

type fieldTable [maxNameLen + 1]struct {
	n     int // names of this length
	names [maxSameLen]struct {
		key nameKey
		f   field
	}
}

// nameKey is a name of 4 to maxNameLen bytes as two words: its first and
// last eight bytes, which overlap, or for a name shorter than 8 its first
// and last four.
type nameKey struct{ lo, hi uint64 }

// keyOf returns name's key, or false if name is not 4 to maxNameLen bytes
// long.
func keyOf[T string | []byte](name T) (nameKey, bool) {
	switch n := len(name); {
	case n >= 8 && n <= maxNameLen:
		return nameKey{load64(name, 0), load64(name, n-8)}, true
	case n >= 4 && n < 8:
		return nameKey{load32(name, 0), load32(name, n-4)}, true
	}
	return nameKey{}, false
}

// load64 and load32 read little-endian words of b at i; the compiler makes
// each one load.
func load64[T string | []byte](b T, i int) uint64 {
	b = b[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func load32[T string | []byte](b T, i int) uint64 {
	b = b[i : i+4]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24
}

// add adds a wire name, which the kinds table guarantees is 4 to
// maxNameLen bytes long and one of at most maxSameLen of its length (a
// test walks the table).
func (t *fieldTable) add(name string, f field) {
	k, _ := keyOf(name)
	e := &t[len(name)]
	e.names[e.n].key, e.names[e.n].f = k, f
	e.n++
}

// lookupField returns the field whose wire name is exactly name
// (case-sensitively).
func lookupField[T string | []byte](name T) (field, bool) {
	k, ok := keyOf(name)
	if !ok {
		return 0, false
	}
	e := &fieldIndex[len(name)]
	for i := 0; i < e.n && i < maxSameLen; i++ {
		if e.names[i].key == k {
			return e.names[i].f, true
		}
	}
	return 0, false
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
// The values are substrings of text. A scanner records spans of the body
// (set), then finish makes text one copy of the body, in which the values
// that need it are decoded in place; the reference decoders give values
// (see [values.fields]).
type fields struct {
	text    string
	span    [maxFields]valueSpan
	bad     fieldMask
	present fieldMask // the fields whose span is not empty
	decode  fieldMask // the fields whose span needs decoding
}

// valueSpan is where the last value of a known field stands, in 32 bits:
// the scanners leave bodies of 2 GiB or more to the reference decoders
// (maxScanLen).
type valueSpan struct {
	start, end int32
	// decode is set when the raw text is not the value: it has JSON
	// escapes, or XML entities, carriage returns or several CDATA sections.
	decode bool
}

// maxScanLen is the longest body the scanners take.
const maxScanLen = 1<<31 - 1

// span returns the valueSpan of body[start:end].
func span(start, end int, decode bool) valueSpan {
	return valueSpan{int32(start), int32(end), decode}
}

// val returns the value of f.
func (fs *fields) val(f field) string {
	sp := fs.span[f]
	return fs.text[sp.start:sp.end]
}

// set records the last occurrence of f, a span of the body.
func (fs *fields) set(f field, sp valueSpan, bad bool) {
	if sp.end <= sp.start {
		sp = valueSpan{} // "" wherever it stands, before and after finish
	}
	fs.span[f] = sp
	fs.bad = fs.bad.with(f, bad)
	fs.present = fs.present.with(f, sp.end > sp.start)
	fs.decode = fs.decode.with(f, sp.decode)
}

// finish makes the values a scanner recorded in body, a body in format f,
// substrings of one copy of it, as the reference decoders would find them.
// Where values need decoding (escapes, entities), the copy holds them
// decoded in place, so escapes cost no allocation either.
func (fs *fields) finish(body []byte, f Format) {
	if fs.decode == 0 {
		fs.text = string(body)
		return
	}

	// The fields with a value, in the order they stand in the body.
	var order [maxFields]field
	n := 0
	for m := fs.present | fs.decode; m != 0; m &= m - 1 {
		i := field(bits.TrailingZeros32(uint32(m)))
		j := n
		for ; j > 0 && fs.span[order[j-1]].start > fs.span[i].start; j-- {
			order[j] = order[j-1]
		}
		order[j] = i
		n++
	}

	// One pass over them: the copy is the body with each span to decode
	// replaced by its value, which is never longer; shift is what the
	// values decoded so far saved, so each other value stands shift bytes
	// before where it stands in the body.
	var b strings.Builder
	b.Grow(len(body))
	prev, shift := int32(0), int32(0)
	for _, d := range order[:n] {
		sp := &fs.span[d]
		if !sp.decode {
			sp.start, sp.end = sp.start-shift, sp.end-shift
			continue
		}
		b.Write(body[prev:sp.start])
		start := int32(b.Len())
		decodeValue(&b, body[sp.start:sp.end], f)
		prev = sp.end
		*sp = valueSpan{start, int32(b.Len()), false}
		shift = prev - sp.end
	}
	b.Write(body[prev:])
	fs.text = b.String()
	fs.decode = 0
}

// raw returns the value of fd, before finish, as bytes: a slice of body
// when it needs no decoding, a copy otherwise.
func (fs *fields) raw(fd field, body []byte, f Format) []byte {
	sp := fs.span[fd]
	if !sp.decode {
		return body[sp.start:sp.end]
	}
	var b strings.Builder
	decodeValue(&b, body[sp.start:sp.end], f)
	return []byte(b.String())
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

// fields returns v as fields, its values concatenated into one text.
func (v *values) fields() (fields, error) {
	fs := fields{bad: v.bad}
	n := 0
	for _, s := range v.val {
		n += len(s)
	}
	if n > maxScanLen {
		return fields{}, fmt.Errorf("%w: values longer than %d bytes", ErrMalformed, maxScanLen)
	}
	var b strings.Builder
	b.Grow(n)
	for f, s := range v.val {
		if s != "" {
			start := b.Len()
			b.WriteString(s)
			fs.set(field(f), span(start, b.Len(), false), v.bad.has(field(f)))
		}
	}
	fs.text = b.String()
	return fs, nil
}

// values returns the values of finished fields.
func (fs *fields) values() values {
	v := values{bad: fs.bad}
	for f := field(0); f < maxFields; f++ {
		v.val[f] = fs.val(f)
	}
	return v
}
