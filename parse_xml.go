package csmsg

import (
	"bytes"
	"math/bits"
	"unicode/utf8"
)

// scanXML is the XML scanner (see fields), for the flat XML WeChat sends:
// it fills fs from body, or reports false for anything it does not fully
// understand (a prolog, comments, attributes, namespaces, an element inside
// a known field, deep nesting, any syntax error...).
func scanXML(body []byte, fs *fields) bool {
	if len(body) > maxScanLen {
		return false
	}
	i := skipSpace(body, bomLen(body))
	if !hasPrefixAt(body, i, "<xml>") {
		return false
	}
	i += len("<xml>")
	next := fToUserName // the name keyOrder predicts
	for {
		i = skipSpace(body, i)
		if i >= len(body) || body[i] != '<' {
			return false
		}
		if hasPrefixAt(body, i, "</xml>") {
			return skipSpace(body, i+len("</xml>")) == len(body)
		}
		f, known, end := scanXMLKnownTag(body, i, next)
		if known {
			next = keyOrder.next[f]
			var start, stop int
			var decode, ok bool
			if start, stop, decode, i, ok = scanXMLValue(body, end, body[i+1:end-1]); !ok {
				return false
			}
			fs.set(f, start, stop, decode)
			if f == fMsgType && start < stop {
				next = keyOrder.byMsgType[body[start]]
			}
			continue
		}
		name, end, empty, ok := scanXMLStartTag(body, i)
		if !ok {
			return false
		}
		f, known = lookupField(&fieldIndex, name)
		if known {
			next = keyOrder.next[f]
		}
		switch {
		case empty:
			if known {
				fs.setEmpty(f)
			}
			i = end
		case known:
			var start, stop int
			var decode bool
			if start, stop, decode, i, ok = scanXMLValue(body, end, name); !ok {
				return false
			}
			fs.set(f, start, stop, decode)
		default:
			if i, ok = skipXMLContent(body, end, name, 0); !ok {
				return false
			}
		}
	}
}

// scanXMLKnownTag reads the start tag of a known field at b[i:], "<Name>",
// the name read as two words, first compared with the predicted field
// next, and returns the field and where the tag ends; known is false for
// anything else, which scanXMLStartTag reads. (The known names are XML
// names: checkName checks.)
func scanXMLKnownTag(b []byte, i int, next field) (f field, known bool, end int) {
	if i+17 > len(b) {
		return 0, false, 0
	}
	lo, hi := load64(b, i+1), load64(b, i+9)
	if p := &keyOrder.words[next]; p.at(b, i+1, lo, hi, '>') {
		return next, true, i + 2 + p.n
	}
	if m := hasByte(lo, '>'); m != 0 {
		n := bits.TrailingZeros64(m) >> 3
		f, known = fieldIndex.lookupKey(nameKey{lo & (1<<(8*n) - 1), 0}, n)
		return f, known, i + 2 + n
	}
	if m := hasByte(hi, '>'); m != 0 {
		n := bits.TrailingZeros64(m) >> 3
		f, known = fieldIndex.lookupKey(nameKey{lo, hi & (1<<(8*n) - 1)}, 8+n)
		return f, known, i + 10 + n
	}
	return 0, false, 0
}

// scanXMLStartTag reads a start tag without attributes at b[i:] ("<Name>" or
// "<Name/>") and returns its name and where it ends.
func scanXMLStartTag(b []byte, i int) (name []byte, end int, empty, ok bool) {
	j := i + 1
	if j >= len(b) || b[i] != '<' || !isNameStart(b[j]) {
		return nil, 0, false, false
	}
	for j++; j < len(b) && isNameByte(b[j]); j++ {
	}
	name = b[i+1 : j]
	switch {
	case j < len(b) && b[j] == '>':
		return name, j + 1, false, true
	case hasPrefixAt(b, j, "/>"):
		return name, j + 2, true, true
	}
	return nil, 0, false, false
}

// scanXMLEndTag checks that "</name>" stands at b[i:] and returns where it
// ends.
func scanXMLEndTag(b []byte, i int, name []byte) (int, bool) {
	j := i + 2 + len(name)
	if j >= len(b) || b[i] != '<' || b[i+1] != '/' || b[j] != '>' {
		return 0, false
	}
	switch n := len(name); {
	case n <= 8 && cap(name) >= 8 && j+8 <= len(b):
		// A short name, most of them, as one word.
		mask := uint64(1)<<(8*n) - 1
		if load64(name[:8], 0)&mask != load64(b, i+2)&mask {
			return 0, false
		}
	case n >= 8 && n <= 16:
		// As two words, which overlap.
		if load64(name, 0) != load64(b, i+2) || load64(name, n-8) != load64(b, j-8) {
			return 0, false
		}
	case !bytes.Equal(b[i+2:j], name):
		return 0, false
	}
	return j + 1, true
}

// scanXMLValue reads the content of the known element name, which starts
// at b[i:], up to its end tag: text and CDATA sections, nothing else. It
// returns where the value's raw text stands, whether it needs decoding, and
// where the end tag ends.
func scanXMLValue(b []byte, i int, name []byte) (start, end int, decode bool, next int, ok bool) {
	first := i
	start, end, plain, j, ok := nextXMLSegment(b, i)
	switch {
	case !ok:
		return 0, 0, false, 0, false
	case j == i: // empty: at "</"
		start, end = i, i
	case hasPrefixAt(b, j, "</"): // the common case: one segment
		decode, i = !plain, j
		if decode {
			// decodeXMLContent reads the segment as it stands, CDATA
			// markers and all: inside CDATA '&' is no entity.
			start, end = first, j
		}
	default:
		// Several segments: decodeXMLContent will walk the whole content
		// again.
		for i = j; ; i = j {
			if _, _, _, j, ok = nextXMLSegment(b, i); !ok {
				return 0, 0, false, 0, false
			}
			if j == i {
				break // at "</"
			}
		}
		start, end, decode = first, i, true
	}
	if next, ok = scanXMLEndTag(b, i, name); !ok {
		return 0, 0, false, 0, false
	}
	return start, end, decode, next, true
}

// skipXMLContent checks the content of the unknown element name, which
// starts at b[i:] (text, CDATA, elements within), and returns where its end
// tag ends.
func skipXMLContent(b []byte, i int, name []byte, depth int) (int, bool) {
	for {
		_, _, _, j, ok := nextXMLSegment(b, i)
		switch {
		case ok && j != i:
			i = j
		case ok: // an end tag
			return scanXMLEndTag(b, i, name)
		default: // an element inside, or what the scanner leaves alone
			inner, end, empty, ok := scanXMLStartTag(b, i)
			if !ok || depth >= maxScanDepth {
				return 0, false
			}
			i = end
			if !empty {
				if i, ok = skipXMLContent(b, i, inner, depth+1); !ok {
					return 0, false
				}
			}
		}
	}
}

const cdataOpen, cdataClose = "<![CDATA[", "]]>"

// nextXMLSegment reads the text run or CDATA section at b[i:], checked as
// encoding/xml would check it, and returns where its text stands, whether
// it is plain (no entity to decode, no carriage return to rewrite), and
// where the segment ends. At an end tag it returns next == i. Anything else
// (an element, a comment, the end of the input, a character or entity XML
// does not allow) is not ok.
func nextXMLSegment(b []byte, i int) (start, end int, plain bool, next int, ok bool) {
	switch {
	case i >= len(b):
		return 0, 0, false, 0, false
	case b[i] != '<':
		end, plain, ok := scanXMLChars(b, i, false)
		return i, end, plain, end, ok
	case hasPrefixAt(b, i, "</"):
		return 0, 0, false, i, true
	case hasPrefixAt(b, i, cdataOpen):
		start := i + len(cdataOpen)
		end, plain, ok := scanXMLChars(b, start, true)
		return start, end, plain, end + len(cdataClose), ok
	}
	return 0, 0, false, 0, false
}

// xmlSpecial marks the bytes scanXMLChars must look at: control
// characters, '&', '<', ']', '\r', and every byte of a multi-byte
// character.
var xmlSpecial = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c < 0x20 && c != '\t' && c != '\n' || c == '&' || c == '<' || c == ']' || c >= utf8.RuneSelf
	}
	return t
}()

// scanXMLChars checks the characters of a text run (up to the next '<') or
// of a CDATA section (up to "]]>") that starts at b[i:], as encoding/xml
// would: valid UTF-8, only characters XML allows, in text only the entities
// it knows and no "]]>". It returns where the run ends, and whether it is
// plain: no entity to decode, no carriage return to rewrite.
func scanXMLChars(b []byte, i int, cdata bool) (end int, plain, ok bool) {
	plain = true
	for {
		// Plain bytes a word at a time; in a CDATA section, looking past '&' and
		// '<'.
		if i+8 <= len(b) {
			x := load64(b, i)
			m := hasLess(x, 0x20) | hasByte(x, ']') | x&msb
			if !cdata {
				m |= hasByte(x, '&') | hasByte(x, '<')
			}
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		} else {
			for i < len(b) && !xmlSpecial[b[i]] {
				i++
			}
			if i >= len(b) {
				return 0, false, false
			}
		}
		switch c := b[i]; {
		case c >= utf8.RuneSelf:
			if i, ok = skipMultibyte(b, i, true); !ok {
				return 0, false, false
			}
			continue
		case c == '<':
			if !cdata {
				return i, plain, true
			}
		case c == ']':
			if hasPrefixAt(b, i, cdataClose) {
				if cdata {
					return i, plain, true
				}
				return 0, false, false
			}
		case c == '&':
			if !cdata {
				_, n := xmlEntity(b, i)
				if n == 0 {
					return 0, false, false
				}
				plain = false
				i += n
				continue
			}
		case c == '\r':
			plain = false
		case c == '\t' || c == '\n': // the word test marks them too
		default: // a control character
			return 0, false, false
		}
		i++
	}
}
