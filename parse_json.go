package csmsg

import (
	"math/bits"
	"unicode/utf8"
)

// scanJSON is the JSON scanner (see fields): it fills fs from body, or
// reports false for anything it does not fully understand (a key with an
// escape or a non-ASCII byte, deep nesting, any syntax error...).
//
// It is written for the compact and the indented objects WeChat sends: the
// whitespace it expects is tested for before it is skipped, and strings,
// nearly all of a push, are scanned a word at a time (scanJSONString).
func scanJSON(b []byte, fs *fields) bool {
	if len(b) > maxScanLen {
		return false
	}
	i := skipSpace(b, bomLen(b))
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	next := fToUserName // the key keyOrder predicts
	for {
		// The key: the common case inline, a key of up to 15 bytes read as
		// two words. First the predicted key, then any key, whose closing
		// quote is the first byte jsonStop marks.
		var f field
		var known bool
		j := 0
		if i+17 <= len(b) && b[i] == '"' {
			lo, hi := load64(b, i+1), load64(b, i+9)
			if p := &keyOrder.words[next]; p.at(b, i+1, lo, hi, '"') {
				f, known, j = next, true, i+2+p.n
			} else if m := jsonStop(lo); m != 0 {
				if n := bits.TrailingZeros64(m) >> 3; b[i+1+n] == '"' {
					f, known = fieldIndex.lookupKey(nameKey{lo & (1<<(8*n) - 1), 0}, n)
					j = i + 2 + n
				}
			} else if m := jsonStop(hi); m != 0 {
				if n := bits.TrailingZeros64(m) >> 3; b[i+9+n] == '"' {
					f, known = fieldIndex.lookupKey(nameKey{lo, hi & (1<<(8*n) - 1)}, 8+n)
					j = i + 10 + n
				}
			}
		}
		if j == 0 {
			if f, known, j = scanJSONKey(b, i); j == 0 {
				return false
			}
		}
		if known {
			next = keyOrder.next[f]
		}
		if j < len(b) && b[j] == ':' {
			j++
		} else if j = skipSpace(b, j); j < len(b) && b[j] == ':' {
			j++
		} else {
			return false
		}
		if j < len(b) && b[j] <= ' ' {
			if b[j] == ' ' && j+1 < len(b) && b[j+1] > ' ' { // WeChat's indented bodies: one space
				j++
			} else {
				j = skipSpace(b, j)
			}
		}
		if j >= len(b) {
			return false
		}
		var ok bool
		switch {
		case b[j] == '"':
			// A string: its plain bytes inline, the rest (spaces, which
			// jsonStop marks too, escapes, multi-byte characters...) in
			// scanJSONStringFrom, after skipMultibyte when multi-byte
			// characters come first.
			k := j + 1
			for k+8 <= len(b) {
				if m := jsonStop(load64(b, k)); m != 0 {
					k += bits.TrailingZeros64(m) >> 3
					break
				}
				k += 8
			}
			var escaped bool
			switch {
			case k < len(b) && b[k] == '"':
				i, ok = k+1, true
			case k < len(b) && b[k] >= utf8.RuneSelf: // Chinese text, say
				if k, ok = skipMultibyte(b, k, false); ok && k < len(b) && b[k] == '"' {
					i = k + 1
				} else if ok {
					i, escaped, ok = scanJSONStringFrom(b, k)
				}
			default:
				i, escaped, ok = scanJSONStringFrom(b, k)
			}
			if ok && known {
				fs.set(f, j+1, i-1, escaped)
				if f == fMsgType {
					next = keyOrder.byMsgType[b[j+1]]
				}
			}
		case known && b[j]-'1' < 9 && f.numeric():
			// A number, CreateTime's or MsgId's: the common case, an
			// integer, inline.
			k := skipDigits(b, j+1)
			if k < len(b) && (b[k] == '.' || b[k]|0x20 == 'e') {
				i, ok = scanJSONField(b, j, f, fs)
			} else {
				fs.set(f, j, k, false)
				i, ok = k, true
			}
		case known:
			i, ok = scanJSONField(b, j, f, fs)
		default:
			i, ok = skipJSONValue(b, j, 0)
		}
		if !ok {
			return false
		}
		if i < len(b) && b[i] <= ' ' {
			i = skipSpace(b, i)
		}
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i++
			if i < len(b) && b[i] <= ' ' {
				if b[i] == '\n' && i+9 <= len(b) {
					// An indented body: a newline and up to eight
					// spaces, counted in one word.
					i += 1 + bits.TrailingZeros64(load64(b, i+1)^lsb*' ')>>3
				}
				if i < len(b) && b[i] <= ' ' {
					i = skipSpace(b, i)
				}
			}
		case '}':
			return skipSpace(b, i+1) == len(b)
		default:
			return false
		}
	}
}

// scanJSONKey reads the object key at b[i:], printable ASCII only, and
// returns its field, if it is a known one, and where it ends (after its
// closing quote), or 0 for a key the scanner does not take.
func scanJSONKey(b []byte, i int) (f field, known bool, end int) {
	if i >= len(b) || b[i] != '"' {
		return 0, false, 0
	}
	j := skipJSONPlain(b, i+1)
	if j >= len(b) || b[j] != '"' {
		return 0, false, 0
	}
	f, known = lookupField(&fieldIndex, b[i+1:j])
	return f, known, j + 1
}

// scanJSONField reads the value of the known field f at b[i:], a value
// other than a string, records it as the reference does (null is empty, a
// number is the value of MsgId and CreateTime, any other value is bad), and
// returns where the value ends.
func scanJSONField(b []byte, i int, f field, fs *fields) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == 'n':
		fs.setEmpty(f)
		return scanLiteral(b, i, "null")
	case c == '-' || '0' <= c && c <= '9':
		end, ok := scanJSONNumber(b, i)
		if f.numeric() {
			fs.set(f, i, end, false)
		} else {
			fs.setBad(f)
		}
		return end, ok
	}
	fs.setBad(f)
	return skipJSONValue(b, i, 0)
}

// skipJSONValue checks the syntax of the value at b[i:] and returns where it
// ends.
func skipJSONValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, ok := scanJSONString(b, i)
		return end, ok
	case c == '-' || '0' <= c && c <= '9':
		return scanJSONNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	case c == '{' || c == '[':
		if depth >= maxScanDepth {
			return 0, false
		}
		return skipJSONContainer(b, i, depth)
	}
	return 0, false
}

// skipJSONContainer checks the object or array that opens at b[i], nested
// depth deep, and returns where it ends.
func skipJSONContainer(b []byte, i, depth int) (int, bool) {
	object := b[i] == '{'
	closing := byte(']')
	if object {
		closing = '}'
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closing {
		return i + 1, true
	}
	for {
		var ok bool
		if object {
			if i, ok = skipJSONKey(b, i); !ok {
				return 0, false
			}
		}
		if i, ok = skipJSONValue(b, i, depth+1); !ok {
			return 0, false
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case closing:
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// skipJSONKey checks the key and colon of an object member at b[i:] and
// returns where its value starts.
func skipJSONKey(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	i, _, ok := scanJSONString(b, i)
	if !ok {
		return 0, false
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return 0, false
	}
	return skipSpace(b, i+1), true
}

// scanLiteral checks that the literal lit stands at b[i:].
func scanLiteral(b []byte, i int, lit string) (int, bool) {
	if !hasPrefixAt(b, i, lit) {
		return 0, false
	}
	return i + len(lit), true
}

// scanJSONNumber checks the JSON number at b[i:] and returns where it ends.
func scanJSONNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

// skipDigits returns the index of the first byte at or after i that is not
// a decimal digit, testing a word at a time.
func skipDigits(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if m := nonDigits(load64(b, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// jsonSpecial marks the bytes scanJSONString must look at: the quote, the
// backslash, control characters, and every byte of a multi-byte character.
var jsonSpecial = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf
	}
	return t
}()

// jsonStop marks, in the high bit of each byte, the bytes of x that
// scanJSONString must look at: the quote, the backslash, control
// characters and every byte of a multi-byte character; and ' ' and '!',
// which share a test with the control characters and the quote (all below
// 0x23). Only the lowest mark is exact, which is all the scanner uses.
func jsonStop(x uint64) uint64 {
	v := x ^ lsb*'\\'
	return ((x - lsb*('"'+1)) | x | (v-lsb)&^v) & msb
}

// jsonStopExact is jsonStop without the spaces and '!': it costs a test
// more a word, and scanJSONStringFrom, which reads the strings with
// something to look at, text among them, stops at no space.
func jsonStopExact(x uint64) uint64 {
	q, bs := x^lsb*'"', x^lsb*'\\'
	return ((x - lsb*0x20) | x | (q-lsb)&^q | (bs-lsb)&^bs) & msb
}

// skipJSONPlain returns the index of the first byte at or after i that
// jsonSpecial marks (or, now and then, a space or '!'), or len(b), testing a
// word at a time.
func skipJSONPlain(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if m := jsonStop(load64(b, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(b) && !jsonSpecial[b[i]] {
		i++
	}
	return i
}

// scanJSONString checks the string whose opening quote is b[i], as
// encoding/json would: valid UTF-8, no control characters, valid escapes.
// It returns where the string ends (after its closing quote) and whether it
// has escapes.
func scanJSONString(b []byte, i int) (end int, escaped, ok bool) {
	return scanJSONStringFrom(b, i+1)
}

// scanJSONStringFrom is scanJSONString from b[j:], somewhere in the
// string, past an opening quote and bytes that need no check.
func scanJSONStringFrom(b []byte, j int) (end int, escaped, ok bool) {
	for {
		if j+8 <= len(b) {
			// The marks of a word are taken in turn, each byte read from
			// the word: a short escape within it costs no load. A mark
			// above the lowest may be false (see jsonStop); the byte it
			// marks is tested all the same.
			x := load64(b, j)
			m := jsonStopExact(x)
			k := 0
			for m != 0 {
				k = bits.TrailingZeros64(m) >> 3
				c := byte(x >> (8 * k))
				if c == '"' {
					return j + k + 1, escaped, true
				}
				if c == '\\' {
					if e := byte(x >> (8*k + 8)); k < 7 && e != 'u' && jsonShortEscape[e] {
						escaped = true
						m &= ^uint64(0) << (8*k + 16) // past the escape's two bytes
						continue
					}
				} else if ' ' <= c && c < utf8.RuneSelf { // a false mark
					m &= m - 1
					continue
				}
				break // the byte at k needs the closer look below
			}
			if m == 0 {
				j += 8
				continue
			}
			j += k
		} else {
			for j < len(b) && !jsonSpecial[b[j]] {
				j++
			}
			if j >= len(b) {
				return 0, false, false
			}
		}
		switch c := b[j]; {
		case c == '"':
			return j + 1, escaped, true
		case c == '\\':
			escaped = true
			if j+1 < len(b) && b[j+1] != 'u' && jsonShortEscape[b[j+1]] {
				j += 2
				continue
			}
			n := jsonEscapeLen(b, j)
			if n == 0 {
				return 0, false, false
			}
			j += n
		case c < 0x20:
			return 0, false, false
		case c < utf8.RuneSelf: // a byte no loop above stops at; stepped over all the same
			j++
		default:
			if j, ok = skipMultibyte(b, j, false); !ok {
				return 0, false, false
			}
		}
	}
}

// jsonShortEscape marks the bytes that may follow a backslash, 'u' aside.
var jsonShortEscape = [256]bool{'"': true, '\\': true, '/': true, 'b': true, 'f': true, 'n': true, 'r': true, 't': true}

// jsonEscapeLen returns the length of the valid escape at b[j:], or 0.
func jsonEscapeLen(b []byte, j int) int {
	if j+1 >= len(b) {
		return 0
	}
	switch b[j+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if hex4(b, j+2) >= 0 {
			return 6
		}
	}
	return 0
}
