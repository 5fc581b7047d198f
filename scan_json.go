package csmsg

import (
	"unicode/utf16"
	"unicode/utf8"
)

// maxScanDepth is how deeply the scanners follow nested unknown values
// before they hand the body to the reference decoder.
const maxScanDepth = 32

// scanJSON is the fast path of ParseJSON: one pass over s (the body as a
// string) that fills fs with the value of each known key, as substrings of s
// where no escape needs decoding. It reports false for anything it does not
// fully understand (a key with an escape or a non-ASCII byte, deep nesting,
// any syntax error...), and the caller then uses decodeJSON, the reference,
// on the same body. Where it reports true, it agrees with the reference.
func scanJSON(s string, fs *fields) bool {
	i := skipSpace(s, bomLen(s))
	if i >= len(s) || s[i] != '{' {
		return false
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return skipSpace(s, i+1) == len(s)
	}
	for {
		// A key: plain printable ASCII only.
		if i >= len(s) || s[i] != '"' {
			return false
		}
		j := i + 1
		for j < len(s) && s[j] != '"' && s[j] != '\\' && s[j] >= 0x20 && s[j] < utf8.RuneSelf {
			j++
		}
		if j >= len(s) || s[j] != '"' {
			return false
		}
		key := s[i+1 : j]
		i = skipSpace(s, j+1)
		if i >= len(s) || s[i] != ':' {
			return false
		}
		i = skipSpace(s, i+1)
		var ok bool
		if f, known := lookupField(key); known {
			i, ok = scanJSONField(s, i, f, fs)
		} else {
			i, ok = skipJSONValue(s, i, 0)
		}
		if !ok {
			return false
		}
		i = skipSpace(s, i)
		if i >= len(s) {
			return false
		}
		switch s[i] {
		case ',':
			i = skipSpace(s, i+1)
		case '}':
			return skipSpace(s, i+1) == len(s)
		default:
			return false
		}
	}
}

// scanJSONField reads the value of known field f at s[i:], records it as
// the reference does (null is "", a wrong type is bad), and returns where
// the value ends.
func scanJSONField(s string, i int, f field, fs *fields) (int, bool) {
	if i >= len(s) {
		return 0, false
	}
	switch c := s[i]; {
	case c == '"':
		val, end, raw, ok := scanJSONString(s, i, true)
		if !ok {
			return 0, false
		}
		fs.set(f, val, false)
		if f == fEncrypt && raw {
			fs.encryptAt = i + 1
		}
		return end, true
	case c == 'n':
		end, ok := scanLiteral(s, i, "null")
		fs.set(f, "", false)
		return end, ok
	case c == '-' || '0' <= c && c <= '9':
		end, ok := scanJSONNumber(s, i)
		if !ok {
			return 0, false
		}
		if f.numeric() {
			fs.set(f, s[i:end], false)
		} else {
			fs.set(f, "", true)
		}
		return end, true
	}
	end, ok := skipJSONValue(s, i, 0)
	fs.set(f, "", true)
	return end, ok
}

// skipJSONValue checks the syntax of the value at s[i:] and returns where it
// ends.
func skipJSONValue(s string, i, depth int) (int, bool) {
	if i >= len(s) {
		return 0, false
	}
	switch c := s[i]; {
	case c == '"':
		_, end, _, ok := scanJSONString(s, i, false)
		return end, ok
	case c == '-' || '0' <= c && c <= '9':
		return scanJSONNumber(s, i)
	case c == 't':
		return scanLiteral(s, i, "true")
	case c == 'f':
		return scanLiteral(s, i, "false")
	case c == 'n':
		return scanLiteral(s, i, "null")
	case c == '{' || c == '[':
		if depth >= maxScanDepth {
			return 0, false
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		i = skipSpace(s, i+1)
		if i < len(s) && s[i] == closing {
			return i + 1, true
		}
		for {
			var ok bool
			if c == '{' {
				if i >= len(s) || s[i] != '"' {
					return 0, false
				}
				if _, i, _, ok = scanJSONString(s, i, false); !ok {
					return 0, false
				}
				i = skipSpace(s, i)
				if i >= len(s) || s[i] != ':' {
					return 0, false
				}
				i = skipSpace(s, i+1)
			}
			if i, ok = skipJSONValue(s, i, depth+1); !ok {
				return 0, false
			}
			i = skipSpace(s, i)
			if i >= len(s) {
				return 0, false
			}
			switch s[i] {
			case ',':
				i = skipSpace(s, i+1)
			case closing:
				return i + 1, true
			default:
				return 0, false
			}
		}
	}
	return 0, false
}

// scanLiteral checks that the literal lit stands at s[i:].
func scanLiteral(s string, i int, lit string) (int, bool) {
	if len(s)-i < len(lit) || s[i:i+len(lit)] != lit {
		return 0, false
	}
	return i + len(lit), true
}

// scanJSONNumber checks the JSON number at s[i:] and returns where it ends.
func scanJSONNumber(s string, i int) (int, bool) {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = skipDigits(s, i+1)
	default:
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		j := skipDigits(s, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func skipDigits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

// scanJSONString checks the string whose opening quote is s[i] and returns
// its value (when decode is set), where it ends, and whether the value is
// the raw text between the quotes. It decodes escapes as encoding/json does,
// lone surrogates included.
func scanJSONString(s string, i int, decode bool) (val string, end int, raw, ok bool) {
	start := i + 1
	j := start
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			return s[start:j], j + 1, true, true
		case c == '\\':
			return unescapeJSON(s, start, j, decode)
		case c < 0x20:
			return "", 0, false, false
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRuneInString(s[j:])
			if r == utf8.RuneError && size == 1 {
				return "", 0, false, false
			}
			j += size
		}
	}
	return "", 0, false, false
}

// unescapeJSON continues scanJSONString from the first backslash, at s[j].
func unescapeJSON(s string, start, j int, decode bool) (val string, end int, raw, ok bool) {
	var b []byte
	if decode {
		b = make([]byte, 0, len(s)-start)
		b = append(b, s[start:j]...)
	}
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			return string(b), j + 1, false, true
		case c == '\\':
			if j+1 >= len(s) {
				return "", 0, false, false
			}
			var r rune
			switch e := s[j+1]; e {
			case '"', '\\', '/':
				r = rune(e)
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			case 'u':
				r = hex4(s, j+2)
				if r < 0 {
					return "", 0, false, false
				}
				j += 6
				if utf16.IsSurrogate(r) {
					if r2 := escapedHex4(s, j); r2 >= 0 {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r = dec
							j += 6
						} else {
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				}
				if decode {
					b = utf8.AppendRune(b, r)
				}
				continue
			default:
				return "", 0, false, false
			}
			if decode {
				b = append(b, byte(r))
			}
			j += 2
		case c < 0x20:
			return "", 0, false, false
		case c < utf8.RuneSelf:
			if decode {
				b = append(b, c)
			}
			j++
		default:
			r, size := utf8.DecodeRuneInString(s[j:])
			if r == utf8.RuneError && size == 1 {
				return "", 0, false, false
			}
			if decode {
				b = append(b, s[j:j+size]...)
			}
			j += size
		}
	}
	return "", 0, false, false
}

// hex4 reads four hex digits at s[i:], or returns -1.
func hex4(s string, i int) rune {
	if len(s)-i < 4 {
		return -1
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// escapedHex4 reads a \uXXXX escape at s[i:], or returns -1.
func escapedHex4(s string, i int) rune {
	if len(s)-i < 6 || s[i] != '\\' || s[i+1] != 'u' {
		return -1
	}
	return hex4(s, i+2)
}

// bomLen is the length of a UTF-8 byte-order mark at the start of s.
func bomLen(s string) int {
	if len(s) >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF {
		return 3
	}
	return 0
}

// skipSpace returns the index of the first byte at or after i that is not
// whitespace.
func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}
