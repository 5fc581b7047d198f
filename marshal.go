package csmsg

import (
	"bytes"
	"fmt"
)

// Marshal writes m as WeChat would push it in format f: XML with root <xml>
// and CDATA strings, or JSON with WeChat's key names. MsgId is written as a
// bare number when it is decimal digits of a uint64 without a leading zero,
// and as a string otherwise (in JSON, any text: see [Text].MsgID); an empty
// MsgID is left out. For *[Unknown], Marshal returns a copy of Raw, which
// must be in format f.
//
// [Parse] of the result returns a value equal to m. A message Marshal cannot
// write faithfully is [ErrInvalidMessage]: a nil message, a MsgType (or
// Event) that does not match m's type, a negative CreateTime, a MsgID with
// a control character or, for XML, one that is not decimal digits of a
// uint64, or a string the format cannot carry
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
	k, h, wf := kindOfMessage(m)
	switch {
	case m == nil || k != nil && h == nil:
		return nil, fmt.Errorf("%w: %T is nil", ErrInvalidMessage, m)
	case k == nil:
		return nil, fmt.Errorf("%w: %T is not a type of this package", ErrInvalidMessage, m)
	case h.MsgType != k.msgType:
		return nil, fmt.Errorf("%w: %T needs MsgType %q, not %q", ErrInvalidMessage, m, k.msgType, h.MsgType)
	case h.CreateTime < 0:
		return nil, fmt.Errorf("%w: a negative CreateTime", ErrInvalidMessage)
	}
	e := encoder{format: f}
	e.open()
	e.str(fieldNames[fToUserName], h.ToUserName)
	e.str(fieldNames[fFromUserName], h.FromUserName)
	e.int(fieldNames[fCreateTime], h.CreateTime)
	e.str(fieldNames[fMsgType], h.MsgType)
	for i, fd := range k.fields {
		v := *wf[i]
		switch fd {
		case fEvent:
			if v != k.event {
				return nil, fmt.Errorf("%w: %T needs Event %q, not %q", ErrInvalidMessage, m, k.event, v)
			}
			e.str(fieldNames[fd], v)
		case fMsgID:
			switch {
			case v == "":
			case hasControl(v):
				return nil, fmt.Errorf("%w: MsgID holds a control character", ErrInvalidMessage)
			case f == FormatXML && !validMsgID(v):
				return nil, fmt.Errorf("%w: MsgID is not decimal digits of a uint64, as XML needs", ErrInvalidMessage)
			}
			e.msgID(v)
		default:
			e.str(fieldNames[fd], v)
		}
	}
	e.close()
	if e.err != nil {
		return nil, e.err
	}
	return e.buf, nil
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
