package csmsg

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Marshal writes m as WeChat would push it in format f: XML with root <xml>
// and CDATA strings, or JSON with WeChat's key names. MsgId is written as a
// bare number when it is a canonical decimal integer and as a string
// otherwise; an empty MsgID is left out. For *[Unknown], Marshal returns a
// copy of Raw, which must be in format f.
//
// [Parse] of the result returns a value equal to m. A message Marshal cannot
// write faithfully is [ErrInvalidMessage]: a nil message, a MsgType (or
// Event) that does not match m's type, or a string the format cannot carry
// (invalid UTF-8; for XML also control characters other than tab, newline
// and carriage return, and U+FFFE and U+FFFF). A format other than FormatXML
// and FormatJSON is [ErrUnknownFormat].
func Marshal(m Message, f Format) ([]byte, error) {
	if f != FormatXML && f != FormatJSON {
		return nil, fmt.Errorf("%w: %v", ErrUnknownFormat, f)
	}
	if u, ok := m.(*Unknown); ok {
		return marshalUnknown(u, f)
	}
	if header(m) == nil {
		return nil, fmt.Errorf("%w: %T is nil", ErrInvalidMessage, m)
	}
	h, msgType, event, body := wireFields(m)
	if h == nil {
		return nil, fmt.Errorf("%w: %T is not a type of this package", ErrInvalidMessage, m)
	}
	if h.MsgType != msgType {
		return nil, fmt.Errorf("%w: %T needs MsgType %q, not %q", ErrInvalidMessage, m, msgType, h.MsgType)
	}
	e := encoder{format: f}
	e.open()
	e.str("ToUserName", h.ToUserName)
	e.str("FromUserName", h.FromUserName)
	e.int("CreateTime", h.CreateTime)
	e.str("MsgType", h.MsgType)
	for _, kv := range body {
		if kv.f == fEvent && kv.v != event {
			return nil, fmt.Errorf("%w: %T needs Event %q, not %q", ErrInvalidMessage, m, event, kv.v)
		}
		if kv.f == fMsgID {
			e.msgID(kv.v)
		} else {
			e.str(fieldNames[kv.f], kv.v)
		}
	}
	e.close()
	if e.err != nil {
		return nil, e.err
	}
	return e.buf, nil
}

// fieldValue is one field of a message to write.
type fieldValue struct {
	f field
	v string
}

// wireFields returns the header of m, the MsgType and Event its type stands
// for, and its other fields in the order WeChat writes them. h is nil for a
// type of another package. m must not be a nil pointer.
func wireFields(m Message) (h *Header, msgType, event string, body []fieldValue) {
	switch m := m.(type) {
	case *Text:
		return &m.Header, MsgTypeText, "", []fieldValue{{fContent, m.Content}, {fMsgID, m.MsgID}}
	case *Image:
		return &m.Header, MsgTypeImage, "", []fieldValue{{fPicURL, m.PicURL}, {fMediaID, m.MediaID}, {fMsgID, m.MsgID}}
	case *MiniProgramPage:
		return &m.Header, MsgTypeMiniProgramPage, "", []fieldValue{
			{fMsgID, m.MsgID}, {fTitle, m.Title}, {fAppID, m.AppID},
			{fPagePath, m.PagePath}, {fThumbURL, m.ThumbURL}, {fThumbMediaID, m.ThumbMediaID},
		}
	case *UserEnterTempSession:
		return &m.Header, MsgTypeEvent, EventUserEnterTempSession, []fieldValue{{fEvent, m.Event}, {fSessionFrom, m.SessionFrom}}
	}
	return nil, "", "", nil
}

// marshalUnknown returns a copy of u.Raw, which must be a body in format f.
func marshalUnknown(u *Unknown, f Format) ([]byte, error) {
	switch {
	case u == nil:
		return nil, fmt.Errorf("%w: nil *csmsg.Unknown", ErrInvalidMessage)
	case len(u.Raw) == 0:
		return nil, fmt.Errorf("%w: Unknown with an empty Raw", ErrInvalidMessage)
	case u.Format != f:
		return nil, fmt.Errorf("%w: Unknown holds a %v body, not %v", ErrInvalidMessage, u.Format, f)
	}
	return bytes.Clone(u.Raw), nil
}

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

// msgID writes MsgId: a bare number when it is a canonical decimal integer, a
// string otherwise, nothing when empty.
func (e *encoder) msgID(v string) {
	switch {
	case v == "":
	case isCanonicalUint(v):
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

// isXMLChar reports whether r is a character XML 1.0 allows in a document.
func isXMLChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= utf8.MaxRune
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
