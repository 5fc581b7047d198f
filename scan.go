package csmsg

import (
	"math/bits"
	"strings"
	"unicode/utf8"
)

// The scanners are the fast path of ParseXML, ParseJSON and the Receiver:
// one pass over the body that finds where the value of each known field
// stands, without copying anything. Then the fields are substrings of one
// copy of the body, in which the values that need it are decoded in place,
// and a Receiver reads Encrypt from the body itself.
//
// A scanner reports false for anything it does not fully understand, and
// the caller hands the body to the reference decoder (decodeXML, decodeJSON),
// which is built on encoding/xml and encoding/json and defines what a push
// is. Where a scanner reports true, it agrees with the reference: the
// differential tests and fuzz targets hold them to it.

// valueSpan is where the last value of a known field stands in the body.
type valueSpan struct {
	start, end int
	// decode is set when the raw text is not the value: it has JSON
	// escapes, or XML entities, carriage returns or several CDATA sections.
	decode bool
}

// scanned is what a scanner found: for each known field its span (the zero
// span for an absent or null field) and whether it held the wrong kind of
// value, as in [fields].
type scanned struct {
	span    [numFields]valueSpan
	bad     fieldMask
	present fieldMask // the fields whose span is not empty
	decode  fieldMask // the fields whose span needs decoding
}

// set records the last occurrence of f.
func (sc *scanned) set(f field, sp valueSpan, bad bool) {
	sc.span[f] = sp
	sc.bad = sc.bad.with(f, bad)
	sc.present = sc.present.with(f, sp.end > sp.start)
	sc.decode = sc.decode.with(f, sp.decode)
}

// fill sets fs to the values the scanner found in body, a body in format
// f, as the reference decoders would find them: substrings of one copy of
// the body. Where values need decoding (escapes, entities), the copy holds
// them decoded in place, so escapes cost no allocation either. fs must be
// the zero value: fill sets only the fields that have a value.
func (sc *scanned) fill(fs *fields, body []byte, f Format) {
	fs.bad = sc.bad
	if sc.decode == 0 {
		s := string(body)
		for m := sc.present; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(uint32(m))
			fs.val[i] = s[sc.span[i].start:sc.span[i].end]
		}
		return
	}

	// The spans to decode, in the order they stand in the body.
	var order [numFields]field
	n := 0
	for m := sc.decode; m != 0; m &= m - 1 {
		i := field(bits.TrailingZeros32(uint32(m)))
		j := n
		for ; j > 0 && sc.span[order[j-1]].start > sc.span[i].start; j-- {
			order[j] = order[j-1]
		}
		order[j] = i
		n++
	}

	// The copy: the body with each span to decode replaced by its value,
	// which is never longer. decoded holds where those values now stand.
	var b strings.Builder
	b.Grow(len(body))
	var decoded [numFields][2]int
	prev := 0
	for _, d := range order[:n] {
		sp := &sc.span[d]
		b.Write(body[prev:sp.start])
		start := b.Len()
		decodeValue(&b, body[sp.start:sp.end], f)
		decoded[d] = [2]int{start, b.Len()}
		prev = sp.end
	}
	b.Write(body[prev:])
	s := b.String()
	for m := sc.present | sc.decode; m != 0; m &= m - 1 {
		i := bits.TrailingZeros32(uint32(m))
		sp := &sc.span[i]
		if sp.decode {
			fs.val[i] = s[decoded[i][0]:decoded[i][1]]
			continue
		}
		shift := 0 // what the decoded values before this one saved
		for _, d := range order[:n] {
			if sc.span[d].end <= sp.start {
				shift += sc.span[d].end - sc.span[d].start - (decoded[d][1] - decoded[d][0])
			}
		}
		fs.val[i] = s[sp.start-shift : sp.end-shift]
	}
}

// raw returns the value of fd as bytes: a slice of body when it needs no
// decoding, a copy otherwise.
func (sc *scanned) raw(fd field, body []byte, f Format) []byte {
	sp := sc.span[fd]
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

// maxScanDepth is how deeply the scanners follow nested unknown values
// before they hand the body to the reference decoder.
const maxScanDepth = 32

// bomLen is the length of a UTF-8 byte-order mark at the start of b.
func bomLen(b []byte) int {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return 3
	}
	return 0
}

// skipSpace returns the index of the first byte at or after i that is not
// whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// hasPrefixAt reports whether b[i:] starts with p.
func hasPrefixAt(b []byte, i int, p string) bool {
	return i <= len(b) && len(b)-i >= len(p) && string(b[i:i+len(p)]) == p
}

// skipMultibyte steps over the run of multi-byte characters at b[i:] and
// returns where it ends, or false if it is not valid UTF-8 or, with xml
// set, holds U+FFFE or U+FFFF, which XML does not allow. Two- and three-byte
// characters (Chinese among them) are checked inline.
func skipMultibyte(b []byte, i int, xml bool) (int, bool) {
	for i < len(b) && b[i] >= utf8.RuneSelf {
		c := b[i]
		switch {
		case c >= 0xC2 && c <= 0xDF && i+1 < len(b) && b[i+1]&0xC0 == 0x80:
			i += 2 // no overlong form starts with these
		case c >= 0xE1 && c <= 0xEF && c != 0xED && i+2 < len(b) && b[i+1]&0xC0 == 0x80 && b[i+2]&0xC0 == 0x80 &&
			!(xml && c == 0xEF && b[i+1] == 0xBF && b[i+2] >= 0xBE):
			// No overlong form or surrogate starts with these; EF BF BE and
			// EF BF BF are U+FFFE and U+FFFF.
			i += 3
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 || xml && (r == 0xFFFE || r == 0xFFFF) {
				return 0, false
			}
			i += size
		}
	}
	return i, true
}

// Word-at-a-time helpers: the scanners test eight bytes at once for the
// bytes they must look at, and step over the rest.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasByte marks, in the high bit of each byte, the bytes of x equal to c.
// Only the lowest mark is exact, which is all the scanners use.
func hasByte(x uint64, c byte) uint64 {
	v := x ^ lsb*uint64(c)
	return (v - lsb) &^ v & msb
}

// hasLess marks the bytes of x below c (c <= 0x80); the lowest mark is exact.
func hasLess(x uint64, c byte) uint64 {
	return (x - lsb*uint64(c)) &^ x & msb
}
