package csmsg

import (
	"math/bits"
	"strings"
)

// What the scanners of both formats share. A scanner (scanXML, scanJSON)
// records where the value of each known field stands in the body; fill
// then makes the values substrings of one copy of the body, in which the
// values that need it are decoded in place, and a Receiver reads Encrypt
// from the body itself (raw). See parseFormat for how the scanners and the
// reference decoders divide the work.

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
	span    [maxFields]valueSpan
	bad     fieldMask
	present fieldMask // the fields whose span is not empty
	decode  fieldMask // the fields whose span needs decoding
}

// maxScanDepth is how deeply the scanners follow nested unknown values
// before they hand the body to the reference decoder.
const maxScanDepth = 32

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

	// The fields with a value, in the order they stand in the body.
	var order [maxFields]field
	n := 0
	for m := sc.present | sc.decode; m != 0; m &= m - 1 {
		i := field(bits.TrailingZeros32(uint32(m)))
		j := n
		for ; j > 0 && sc.span[order[j-1]].start > sc.span[i].start; j-- {
			order[j] = order[j-1]
		}
		order[j] = i
		n++
	}

	// One pass: the copy is the body with each span to decode replaced by
	// its value, which is never longer, and each field's value is where
	// the pass wrote it.
	var b strings.Builder
	b.Grow(len(body))
	var at [maxFields][2]int
	prev := 0
	for _, d := range order[:n] {
		sp := &sc.span[d]
		b.Write(body[prev:sp.start])
		start := b.Len()
		if sp.decode {
			decodeValue(&b, body[sp.start:sp.end], f)
		} else {
			b.Write(body[sp.start:sp.end])
		}
		at[d] = [2]int{start, b.Len()}
		prev = sp.end
	}
	b.Write(body[prev:])
	s := b.String()
	for _, d := range order[:n] {
		fs.val[d] = s[at[d][0]:at[d][1]]
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
