package csmsg

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The decoding of a value's raw text that needs it, as the reference
// decoders would find the value: JSON escapes; XML entities, character
// references, CDATA sections and carriage returns. finish calls it on the
// spans a scanner checked; the scanners share its entity and hex readers.

// decodeValue writes the value of a span that needs decoding: its result is
// never longer than the raw text.
func decodeValue(w *strings.Builder, raw []byte, f Format) {
	if f == FormatXML {
		decodeXMLContent(w, raw)
	} else {
		decodeJSONString(w, raw)
	}
}

// jsonUnescape gives the byte each short JSON escape stands for, by the
// byte after the backslash.
var jsonUnescape = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// decodeJSONString writes the value of a checked string's raw content,
// escapes decoded as encoding/json decodes them (a lone surrogate becomes
// U+FFFD). It decodes into a small buffer on the stack, copying a word at a
// time up to each escape, and writes the buffer out when it is full, so
// that the short runs between escapes cost no call each.
func decodeJSONString(w *strings.Builder, raw []byte) {
	var buf [128]byte
	n := 0
	for i := 0; i < len(raw); {
		if n > len(buf)-8 {
			w.Write(buf[:n])
			n = 0
		}
		if i+8 <= len(raw) {
			x := load64(raw, i)
			binary.LittleEndian.PutUint64(buf[n:], x)
			m := hasByte(x, '\\')
			if m == 0 {
				n, i = n+8, i+8
				continue
			}
			k := bits.TrailingZeros64(m) >> 3 // the bytes after it are overwritten
			n, i = n+k, i+k
		} else {
			for ; i < len(raw) && raw[i] != '\\'; i++ {
				buf[n] = raw[i]
				n++
			}
			if i == len(raw) {
				break
			}
		}
		// An escape at raw[i].
		if n > len(buf)-utf8.UTFMax {
			w.Write(buf[:n])
			n = 0
		}
		if e := raw[i+1]; e != 'u' {
			buf[n] = jsonUnescape[e]
			n++
			i += 2
			continue
		}
		var r rune
		r, i = unescapeU(raw, i)
		n += utf8.EncodeRune(buf[n:], r)
	}
	w.Write(buf[:n])
}

// unescapeU decodes the checked \uXXXX escape at raw[i:], with the escape
// after it when the two are a surrogate pair, as encoding/json does (a lone
// surrogate is U+FFFD), and returns where the escapes end.
func unescapeU(raw []byte, i int) (rune, int) {
	r := hex4(raw, i+2)
	i += 6
	if utf16.IsSurrogate(r) {
		r2 := rune(-1)
		if i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
			r2 = hex4(raw, i+2)
		}
		if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
			return dec, i + 6
		}
		return utf8.RuneError, i
	}
	return r, i
}

// decodeJSONInto is decodeJSONString into dst, which must be at least as
// long as raw, and returns the length of the value. It copies a word at a
// time up to each escape, the bytes after an escape overwritten.
func decodeJSONInto(dst, raw []byte) int {
	n := 0
	for i := 0; i < len(raw); {
		if i+8 <= len(raw) {
			x := load64(raw, i)
			binary.LittleEndian.PutUint64(dst[n:], x) // n <= i: dst has room
			m := hasByte(x, '\\')
			if m == 0 {
				n, i = n+8, i+8
				continue
			}
			k := bits.TrailingZeros64(m) >> 3
			n, i = n+k, i+k
		} else {
			for ; i < len(raw) && raw[i] != '\\'; i++ {
				dst[n] = raw[i]
				n++
			}
			if i == len(raw) {
				break
			}
		}
		// An escape at raw[i].
		if e := raw[i+1]; e != 'u' {
			dst[n] = jsonUnescape[e]
			n++
			i += 2
			continue
		}
		var r rune
		r, i = unescapeU(raw, i)
		n += utf8.EncodeRune(dst[n:], r) // n+6 <= i: room for any rune
	}
	return n
}

// hex4 reads four hex digits at b[i:], or returns -1.
func hex4(b []byte, i int) rune {
	if len(b)-i < 4 {
		return -1
	}
	var r rune
	for _, c := range b[i : i+4] {
		d := digitValue(c)
		if d >= 16 {
			return -1
		}
		r = r<<4 | rune(d)
	}
	return r
}

// decodeXMLContent writes the value of checked element content: CDATA
// sections as they are, text with its entities decoded, and in both "\r\n"
// and a lone "\r" turned into "\n", as encoding/xml does.
func decodeXMLContent(w *strings.Builder, raw []byte) {
	for i := 0; i < len(raw); {
		if hasPrefixAt(raw, i, cdataOpen) {
			i += len(cdataOpen)
			end := i + bytes.Index(raw[i:], []byte(cdataClose))
			writeXMLChars(w, raw[i:end], false)
			i = end + len(cdataClose)
			continue
		}
		end := bytes.IndexByte(raw[i:], '<')
		if end < 0 {
			end = len(raw)
		} else {
			end += i
		}
		writeXMLChars(w, raw[i:end], true)
		i = end
	}
}

// writeXMLChars writes one checked segment, decoding entities in text.
func writeXMLChars(w *strings.Builder, seg []byte, text bool) {
	for i := 0; i < len(seg); {
		k := i
		for k < len(seg) && seg[k] != '\r' && (seg[k] != '&' || !text) {
			k++
		}
		w.Write(seg[i:k])
		if i = k; i == len(seg) {
			return
		}
		if seg[i] == '\r' {
			w.WriteByte('\n')
			i++
			if i < len(seg) && seg[i] == '\n' {
				i++
			}
			continue
		}
		r, n := xmlEntity(seg, i)
		if n == 0 { // not a checked segment: keep the byte, never stall
			r, n = '&', 1
		}
		w.WriteRune(r)
		i += n
	}
}

// xmlEntity decodes the entity or character reference at b[i:] and returns
// its length, or 0 for anything but the five predefined entities and
// references to characters XML allows (a reference to a surrogate, which
// encoding/xml turns into U+FFFD, is left to the reference decoder).
func xmlEntity(b []byte, i int) (rune, int) {
	switch {
	case hasPrefixAt(b, i, "&lt;"):
		return '<', 4
	case hasPrefixAt(b, i, "&gt;"):
		return '>', 4
	case hasPrefixAt(b, i, "&amp;"):
		return '&', 5
	case hasPrefixAt(b, i, "&apos;"):
		return '\'', 6
	case hasPrefixAt(b, i, "&quot;"):
		return '"', 6
	case !hasPrefixAt(b, i, "&#"):
		return 0, 0
	}
	j, base := i+2, rune(10)
	if j < len(b) && b[j] == 'x' {
		j, base = j+1, 16
	}
	start := j
	var r rune
	for ; j < len(b) && b[j] != ';'; j++ {
		d := rune(digitValue(b[j]))
		if d >= base || r > utf8.MaxRune {
			return 0, 0
		}
		r = r*base + d
	}
	if j == start || j >= len(b) || r > utf8.MaxRune || 0xD800 <= r && r <= 0xDFFF || !isXMLChar(r) {
		return 0, 0
	}
	return r, j + 1 - i
}
