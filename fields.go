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

// maxFields bounds the known fields, a bit each in a fieldMask and a span
// each in fields: the header's and the kinds table's wire names in all.
const maxFields = 20

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

// maxScanDepth is how deeply the scanners follow nested unknown values
// before they hand the body to the reference decoder.
const maxScanDepth = 32

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

// isNumber reports whether the value of fd, before finish, in a JSON body,
// is a number rather than a string: a string's span starts right after its
// opening quote, in a body a scanner read as in the src values.fields
// makes, which writes a quote before each value but a number. (It costs the
// scanners nothing, where a mask of numbers cost JSON bodies 5%.)
func (fs *fields) isNumber(fd field) bool {
	sp := fs.span[fd]
	return sp.end > sp.start && fs.src[sp.start-1] != '"'
}

// checked returns the value of fd, before finish, as a slice of src: one
// of checkedFields in build, or any value that needs no decoding.
func (fs *fields) checked(fd field) []byte {
	sp := fs.span[fd]
	return fs.src[sp.start:sp.end]
}

// values are the fields of a body as plain strings: what the reference
// decoders find, and what the tests compare across both paths.
type values struct {
	val [maxFields]string
	bad fieldMask
	num fieldMask // the fields whose value is a JSON number
}

// set records the last occurrence of f: a wrong value (bad), or a JSON
// number (num) or anything else.
func (v *values) set(f field, val string, bad, num bool) {
	v.val[f] = val
	v.bad = v.bad.with(f, bad)
	v.num = v.num.with(f, num)
}

// fields returns v as fields, before finish: its values concatenated into
// one src, each after a byte that tells a number from a string (isNumber).
func (v *values) fields() (fields, error) {
	var fs fields
	n := 0
	for _, s := range v.val {
		n += 1 + len(s)
	}
	if n > maxScanLen {
		return fields{}, fmt.Errorf("%w: values longer than %d bytes", ErrMalformed, maxScanLen)
	}
	src := make([]byte, 0, n)
	for f, s := range v.val {
		if s != "" {
			mark := byte('"')
			if v.num.has(field(f)) {
				mark = ' '
			}
			src = append(src, mark)
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
	v := values{bad: fs.bad}
	for fd := field(0); f == FormatJSON && fd < maxFields; fd++ {
		v.num = v.num.with(fd, fs.isNumber(fd))
	}
	text := fs.finish(f, allFields)
	for fd := field(0); fd < maxFields; fd++ {
		v.val[fd] = fs.val(text, fd)
	}
	return v
}
