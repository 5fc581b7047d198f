package csmsg

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// encoder writes the fields of one message in one format. The first error
// sticks; later writes do nothing.
type encoder struct {
	format Format
	buf    []byte
	err    error
	n      int // fields written, for JSON's commas
}

func (e *encoder) open() {
	if e.format == FormatXML {
		e.buf = append(e.buf, "<xml>"...)
	} else {
		e.buf = append(e.buf, '{')
	}
}

func (e *encoder) close() {
	if e.format == FormatXML {
		e.buf = append(e.buf, "</xml>"...)
	} else {
		e.buf = append(e.buf, '}')
	}
}

// start starts the field named name: an element or a key.
func (e *encoder) start(name string) {
	if e.format == FormatXML {
		e.buf = append(e.buf, '<')
		e.buf = append(e.buf, name...)
		e.buf = append(e.buf, '>')
		return
	}
	if e.n > 0 {
		e.buf = append(e.buf, ',')
	}
	e.n++
	e.buf = append(e.buf, '"')
	e.buf = append(e.buf, name...)
	e.buf = append(e.buf, '"', ':')
}

// end ends the field named name.
func (e *encoder) end(name string) {
	if e.format == FormatXML {
		e.buf = append(e.buf, '<', '/')
		e.buf = append(e.buf, name...)
		e.buf = append(e.buf, '>')
	}
}

// number writes a field whose value is already a canonical decimal number.
func (e *encoder) number(name, digits string) {
	e.start(name)
	e.buf = append(e.buf, digits...)
	e.end(name)
}

func (e *encoder) int(name string, v int64) {
	e.number(name, strconv.FormatInt(v, 10))
}

// msgID writes MsgId: a bare number when it is a canonical decimal integer
// of a uint64, a string otherwise, nothing when empty.
func (e *encoder) msgID(v string) {
	switch {
	case v == "":
	case isCanonicalUint(v) && validMsgID(v):
		e.number(fieldNames[fMsgID], v)
	default:
		e.str(fieldNames[fMsgID], v)
	}
}

// isCanonicalUint reports whether s is digits with no leading zero.
func isCanonicalUint(s string) bool {
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// str writes a field with a string value.
func (e *encoder) str(name, v string) {
	if e.err != nil {
		return
	}
	if !utf8.ValidString(v) {
		e.err = fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidMessage, name)
		return
	}
	e.start(name)
	if e.format == FormatXML {
		if !e.cdata(v) {
			e.err = fmt.Errorf("%w: %s holds a character XML cannot carry", ErrInvalidMessage, name)
			return
		}
	} else {
		e.jsonString(v)
	}
	e.end(name)
}

// cdata writes v as CDATA sections. A "]]>" in v is split across two
// sections, and '\r', which an XML parser would turn into '\n', is written
// as a character reference between sections. It reports false if v holds a
// character XML cannot carry at all.
func (e *encoder) cdata(v string) bool {
	open := false
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		switch {
		case r == '\r':
			if open {
				e.buf = append(e.buf, "]]>"...)
				open = false
			}
			e.buf = append(e.buf, "&#13;"...)
			i++
			continue
		case !isXMLChar(r):
			return false
		}
		if !open {
			e.buf = append(e.buf, "<![CDATA["...)
			open = true
		}
		if r == ']' && len(v) >= i+3 && v[i:i+3] == "]]>" {
			// End the section between "]]" and ">".
			e.buf = append(e.buf, "]]]]><![CDATA[>"...)
			i += 3
			continue
		}
		e.buf = append(e.buf, v[i:i+size]...)
		i += size
	}
	if open {
		e.buf = append(e.buf, "]]>"...)
	}
	return true
}

// jsonString writes v, valid UTF-8, as a JSON string with the fewest escapes.
func (e *encoder) jsonString(v string) {
	const hex = "0123456789abcdef"
	e.buf = append(e.buf, '"')
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"' || c == '\\':
			e.buf = append(e.buf, '\\', c)
		case c == '\n':
			e.buf = append(e.buf, '\\', 'n')
		case c == '\r':
			e.buf = append(e.buf, '\\', 'r')
		case c == '\t':
			e.buf = append(e.buf, '\\', 't')
		case c < 0x20:
			e.buf = append(e.buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		default:
			e.buf = append(e.buf, c)
		}
	}
	e.buf = append(e.buf, '"')
}
