package csmsg

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// Byte-level helpers shared by both formats' scanners and decoders.

// bomLen is the length of a UTF-8 byte-order mark at the start of b.
func bomLen(b []byte) int {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return 3
	}
	return 0
}

// trimBOM returns body without a leading UTF-8 byte-order mark.
func trimBOM(body []byte) []byte {
	return body[bomLen(body):]
}

// trimLeft returns body without a leading byte-order mark and whitespace.
func trimLeft(body []byte) []byte {
	return body[skipSpace(body, bomLen(body)):]
}

// isSpace reports whether c is whitespace in both XML and JSON.
func isSpace(c byte) bool {
	return c <= ' ' && uint64(1)<<c&(1<<' '|1<<'\t'|1<<'\n'|1<<'\r') != 0
}

// isAllSpace reports whether b holds nothing but whitespace.
func isAllSpace(b []byte) bool {
	return skipSpace(b, 0) == len(b)
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

// digitValue is the value of a hex digit, or 16 for any other byte.
func digitValue(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 16
}

// isXMLChar reports whether r is a character XML 1.0 allows in a document.
func isXMLChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= utf8.MaxRune
}

// skipMultibyte steps over the run of multi-byte characters at b[i:] and
// returns where it ends, or false if it is not valid UTF-8 or, with xml
// set, holds U+FFFE or U+FFFF, which XML does not allow. Three-byte
// characters (Chinese among them) are checked four at a time from two
// words, then two at a time from one, two-byte ones one at a time; the
// rest goes to utf8.DecodeRune.
func skipMultibyte(b []byte, i int, xml bool) (int, bool) {
	// Leads E0 and ED start the overlong forms and the surrogates, and in
	// XML EF starts U+FFFE and U+FFFF: is3 takes a closer look. (EF also
	// starts Chinese text's fullwidth punctuation.)
	closer := uint64(1<<0x0 | 1<<0xD)
	if xml {
		closer |= 1 << 0xF
	}
	for {
		// Four three-byte characters at a time, from two words.
		for i+14 <= len(b) && two3(binary.LittleEndian.Uint64(b[i:]), closer) && two3(binary.LittleEndian.Uint64(b[i+6:]), closer) {
			i += 12
		}
	words:
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			if two3(w, closer) {
				i += 6
				continue
			}
			switch {
			case w&0x80 == 0:
				return i, true // ASCII: the end of the run
			case is3(w, xml):
				i += 3
			case w&0xC0E0 == 0x80C0 && w&0x1E != 0:
				i += 2 // 110xxxxx 10xxxxxx, but not C0 or C1, overlong forms
			default:
				break words
			}
		}
		// Near the end of b, or a character of another kind: one rune.
		if i >= len(b) || b[i] < utf8.RuneSelf {
			return i, true
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 || xml && (r == 0xFFFE || r == 0xFFFF) {
			return 0, false
		}
		i += size
	}
}

// two3 reports whether the low six bytes of w are two three-byte
// characters, neither with a lead closer marks (by its low nibble) for is3.
func two3(w, closer uint64) bool {
	return w&0xC0C0F0C0C0F0 == 0x8080E08080E0 && (closer>>(w&0xF)|closer>>(w>>24&0xF))&1 == 0
}

// is3 reports whether the low three bytes of w are a three-byte character
// (and not U+FFFE or U+FFFF, with xml set): 1110xxxx 10xxxxxx 10xxxxxx, but
// neither an overlong form (E0 then 80-9F) nor a surrogate (ED then A0-BF):
// of the lead's low nibble and bit 5 of the second byte, neither 0 and 0 nor
// D and 1. EF BF BE and EF BF BF are U+FFFE and U+FFFF.
func is3(w uint64, xml bool) bool {
	return w&0xC0C0F0 == 0x8080E0 && w&0x200F != 0 && w&0x200F != 0x200D && (!xml || w&0xFEFFFF != 0xBEBFEF)
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

// nonDigits marks the bytes of x that are not decimal digits; the lowest
// mark is exact. A digit less '0' is 0 to 9, and 0x76 more stays below
// 0x80; anything else reaches it.
func nonDigits(x uint64) uint64 {
	t := x - lsb*'0'
	return (t + lsb*0x76 | t | x) & msb
}

// parseDigits8 returns the value of the eight decimal digits x holds, the
// first in its lowest byte.
func parseDigits8(x uint64) uint64 {
	x = (x & 0x0F0F0F0F0F0F0F0F) * (10<<8 + 1) >> 8
	x = (x & 0x00FF00FF00FF00FF) * (100<<16 + 1) >> 16
	return (x & 0x0000FFFF0000FFFF) * (10000<<32 + 1) >> 32
}

// load64 reads the little-endian word of b at i; the compiler makes it one
// load.
func load64[T string | []byte](b T, i int) uint64 {
	b = b[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// isNameStart and isNameByte accept the ASCII names the scanner handles: no
// namespace prefix, nothing an XML parser would have to look at twice.
func isNameStart(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_'
}

func isNameByte(c byte) bool {
	return isNameStart(c) || '0' <= c && c <= '9' || c == '-' || c == '.'
}

// validMsgID reports whether s is decimal digits of a uint64.
func validMsgID[T string | []byte](s T) bool {
	if n := len(s); n >= 8 && n <= 19 {
		// Up to 19 digits cannot overflow: the common case is two or
		// three words of digits, which may overlap.
		m := nonDigits(load64(s, 0)) | nonDigits(load64(s, n-8))
		if n > 16 {
			m |= nonDigits(load64(s, 8))
		}
		return m == 0
	}
	_, ok := parseDigits(s, math.MaxUint64)
	return ok
}

// parseDigits reads s, one or more decimal digits and nothing else, as a
// number no larger than max.
func parseDigits[T string | []byte](s T, max uint64) (uint64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		d := uint64(s[i] - '0')
		if d > 9 {
			return 0, false
		}
		if i >= 18 && n > (max-d)/10 { // 18 digits cannot overflow
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// hasControl reports whether s, valid UTF-8, holds a control character:
// U+0000 to U+001F, U+007F, or U+0080 to U+009F (C2 80 to C2 9F).
func hasControl[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7F || c == 0xC2 && i+1 < len(s) && s[i+1] < 0xA0 {
			return true
		}
	}
	return false
}
