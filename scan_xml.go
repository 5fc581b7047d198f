package csmsg

import (
	"strings"
	"unicode/utf8"
)

// scanXML is the fast path of ParseXML, for the flat XML WeChat sends: one
// pass over s (the body as a string) that fills fs with the value of each
// known element, as substrings of s where no entity or carriage return needs
// rewriting. It reports false for anything it does not fully understand
// (a prolog, comments, attributes, namespaces, an element inside a known
// field, deep nesting, any syntax error...), and the caller then uses
// decodeXML, the reference, on the same body. Where it reports true, it
// agrees with the reference.
func scanXML(s string, fs *fields) bool {
	i := skipSpace(s, bomLen(s))
	if !strings.HasPrefix(s[i:], "<xml>") {
		return false
	}
	i += len("<xml>")
	for {
		i = skipSpace(s, i)
		if i >= len(s) || s[i] != '<' {
			return false
		}
		if strings.HasPrefix(s[i:], "</xml>") {
			return skipSpace(s, i+len("</xml>")) == len(s)
		}
		name, end, empty, ok := scanXMLStartTag(s, i)
		if !ok {
			return false
		}
		f, known := lookupField(name)
		switch {
		case empty:
			if known {
				fs.set(f, "", false)
			}
			i = end
		case known:
			val, at, next, ok := scanXMLValue(s, end, name)
			if !ok {
				return false
			}
			fs.set(f, val, false)
			if f == fEncrypt {
				fs.encryptAt = at
			}
			i = next
		default:
			if i, ok = skipXMLContent(s, end, name, 0); !ok {
				return false
			}
		}
	}
}

// scanXMLStartTag reads a start tag without attributes at s[i:] ("<Name>" or
// "<Name/>") and returns its name and where it ends.
func scanXMLStartTag(s string, i int) (name string, end int, empty, ok bool) {
	j := i + 1
	if j >= len(s) || s[i] != '<' || !isNameStart(s[j]) {
		return "", 0, false, false
	}
	for j++; j < len(s) && isNameByte(s[j]); j++ {
	}
	name = s[i+1 : j]
	switch {
	case j < len(s) && s[j] == '>':
		return name, j + 1, false, true
	case strings.HasPrefix(s[j:], "/>"):
		return name, j + 2, true, true
	}
	return "", 0, false, false
}

// isNameStart and isNameByte accept the ASCII names the scanner handles: no
// namespace prefix, nothing an XML parser would have to look at twice.
func isNameStart(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_'
}

func isNameByte(c byte) bool {
	return isNameStart(c) || '0' <= c && c <= '9' || c == '-' || c == '.'
}

// scanXMLValue reads the content of the known element name, which starts
// at s[i:], up to its end tag: text and CDATA sections, nothing else. It
// returns the value, where it starts in s when it is a substring of s (0
// otherwise), and where the end tag ends.
func scanXMLValue(s string, i int, name string) (val string, at, next int, ok bool) {
	var b []byte // the value, once it is not a single plain segment
	segments := 0
	for {
		seg, text, j, ok := nextXMLSegment(s, i)
		if !ok {
			return "", 0, 0, false
		}
		if seg == "" && j == i {
			break // at "</"
		}
		plain, ok := checkXMLSegment(seg, text)
		if !ok {
			return "", 0, 0, false
		}
		segments++
		if segments == 1 && plain {
			val, at = seg, j-len(seg)
			if !text {
				at -= len("]]>")
			}
		} else {
			if b == nil {
				b = append(make([]byte, 0, len(val)+len(seg)), val...)
			}
			if b, ok = appendXMLSegment(b, seg, text); !ok {
				return "", 0, 0, false
			}
		}
		i = j
	}
	next, ok = scanXMLEndTag(s, i, name)
	if !ok {
		return "", 0, 0, false
	}
	if b != nil {
		return string(b), 0, next, true
	}
	return val, at, next, true
}

// nextXMLSegment returns the text run or CDATA section at s[i:] and where it
// ends; at an end tag it returns "" and i. Anything else (an element, a
// comment, the end of the input) is not ok.
func nextXMLSegment(s string, i int) (seg string, text bool, next int, ok bool) {
	if i >= len(s) {
		return "", false, 0, false
	}
	if s[i] != '<' {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			return "", false, 0, false
		}
		return s[i : i+j], true, i + j, true
	}
	if strings.HasPrefix(s[i:], "</") {
		return "", false, i, true
	}
	const open = "<![CDATA["
	if !strings.HasPrefix(s[i:], open) {
		return "", false, 0, false
	}
	start := i + len(open)
	j := strings.Index(s[start:], "]]>")
	if j < 0 {
		return "", false, 0, false
	}
	return s[start : start+j], false, start + j + len("]]>"), true
}

// scanXMLEndTag checks that "</name>" stands at s[i:].
func scanXMLEndTag(s string, i int, name string) (int, bool) {
	if !strings.HasPrefix(s[i:], "</") || !strings.HasPrefix(s[i+2:], name) {
		return 0, false
	}
	j := i + 2 + len(name)
	if j >= len(s) || s[j] != '>' {
		return 0, false
	}
	return j + 1, true
}

// skipXMLContent checks the content of the unknown element name, which
// starts at s[i:] (text, CDATA, elements within), and returns where its end
// tag ends.
func skipXMLContent(s string, i int, name string, depth int) (int, bool) {
	for {
		seg, text, j, ok := nextXMLSegment(s, i)
		switch {
		case ok && (seg != "" || j != i):
			if _, ok := checkXMLSegment(seg, text); !ok {
				return 0, false
			}
			if text && strings.IndexByte(seg, '&') >= 0 {
				if _, ok := appendXMLSegment(nil, seg, text); !ok {
					return 0, false // an entity the reference would refuse
				}
			}
			i = j
		case ok: // an end tag
			return scanXMLEndTag(s, i, name)
		default: // an element inside
			inner, end, empty, ok := scanXMLStartTag(s, i)
			if !ok || depth >= maxScanDepth {
				return 0, false
			}
			i = end
			if !empty {
				if i, ok = skipXMLContent(s, i, inner, depth+1); !ok {
					return 0, false
				}
			}
		}
	}
}

// checkXMLSegment checks the raw text of a text run (text) or CDATA section
// as encoding/xml would: valid UTF-8, only characters XML allows, and in
// text no "]]>". It reports whether the segment is its own value (plain):
// no entity to decode and no carriage return to rewrite.
func checkXMLSegment(seg string, text bool) (plain, ok bool) {
	plain = true
	for i := 0; i < len(seg); {
		c := seg[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(seg[i:])
			if r == utf8.RuneError && size == 1 || !isXMLChar(r) {
				return false, false
			}
			i += size
			continue
		}
		switch {
		case c == '\r' || c == '&' && text:
			plain = false
		case c == ']' && text && strings.HasPrefix(seg[i:], "]]>"):
			return false, false
		case c < 0x20 && c != '\t' && c != '\n':
			return false, false
		}
		i++
	}
	return plain, true
}

// appendXMLSegment appends the value of a checked segment to b: entities
// decoded (in text), "\r\n" and a lone "\r" turned into "\n", as
// encoding/xml does. An entity it does not know, or a character reference
// it would have to think twice about, is not ok.
func appendXMLSegment(b []byte, seg string, text bool) ([]byte, bool) {
	for i := 0; i < len(seg); {
		switch c := seg[i]; {
		case c == '\r':
			b = append(b, '\n')
			i++
			if i < len(seg) && seg[i] == '\n' {
				i++
			}
		case c == '&' && text:
			r, n := xmlEntity(seg[i:])
			if n == 0 {
				return nil, false
			}
			b = utf8.AppendRune(b, r)
			i += n
		default:
			b = append(b, c)
			i++
		}
	}
	return b, true
}

// xmlEntity decodes the entity or character reference at the start of s and
// returns its length, or 0 for anything but the five predefined entities
// and references to characters XML allows.
func xmlEntity(s string) (rune, int) {
	for _, e := range [...]struct {
		name string
		r    rune
	}{{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&apos;", '\''}, {"&quot;", '"'}} {
		if strings.HasPrefix(s, e.name) {
			return e.r, len(e.name)
		}
	}
	if !strings.HasPrefix(s, "&#") {
		return 0, 0
	}
	i, base := 2, rune(10)
	if i < len(s) && s[i] == 'x' {
		i, base = 3, 16
	}
	start := i
	var r rune
	for ; i < len(s) && s[i] != ';'; i++ {
		d := rune(digitValue(s[i]))
		if d >= base || r > utf8.MaxRune {
			return 0, 0
		}
		r = r*base + d
	}
	if i == start || i >= len(s) || r > utf8.MaxRune || 0xD800 <= r && r <= 0xDFFF || !isXMLChar(r) {
		return 0, 0
	}
	return r, i + 1
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
