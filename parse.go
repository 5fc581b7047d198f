package csmsg

import (
	"bytes"
	"fmt"
	"math"
	"math/bits"
)

// Parse decodes the body of a customer-service push, XML or JSON, into a
// typed [Message]. It sniffs the format from the body itself, never from a
// Content-Type header: after an optional UTF-8 byte-order mark and
// whitespace, '<' means XML and '{' means JSON; anything else, an empty body
// included, is [ErrUnknownFormat].
//
// A push of a kind this package has no type for comes back as *[Unknown]
// with a nil error. An encrypted envelope (safe mode) is [ErrEncrypted]; a
// body that is not a well-formed push is [ErrMalformed].
func Parse(body []byte) (Message, error) {
	f, err := sniff(body)
	if err != nil {
		return nil, err
	}
	return parseFormat(f, body)
}

// ParseXML decodes an XML push. It is [Parse] without the sniffing: a body
// that is not XML is [ErrMalformed].
//
// The root element must be <xml>. Values may be CDATA sections (several in a
// row concatenate) or text with entities and character references;
// whitespace between elements, comments, and a prolog before the root are
// ignored; unknown elements are skipped whole, however deeply they nest.
// Element names match WeChat's spelling exactly; MsgId is decimal digits of
// a uint64; anything but whitespace after the root element is ErrMalformed.
func ParseXML(body []byte) (Message, error) {
	return parseFormat(FormatXML, body)
}

// ParseJSON decodes a JSON push. It is [Parse] without the sniffing: a body
// that is not a JSON object is [ErrMalformed].
//
// Keys match WeChat's spelling exactly (case-sensitively); unknown keys are
// skipped whatever their value; for a repeated key the last one wins; null
// is the zero value. MsgId may be a number, decimal digits of a uint64, or a
// string, any text without a control character, and is kept as the exact
// text; CreateTime may be a number or a string holding one.
// A known key holding the wrong JSON type, or anything but whitespace after
// the object, is ErrMalformed.
func ParseJSON(body []byte) (Message, error) {
	return parseFormat(FormatJSON, body)
}

// sniff tells the format of body from its first significant byte.
func sniff(body []byte) (Format, error) {
	rest := trimLeft(body)
	if len(rest) == 0 {
		return 0, fmt.Errorf("%w: empty body", ErrUnknownFormat)
	}
	switch rest[0] {
	case '<':
		return FormatXML, nil
	case '{':
		return FormatJSON, nil
	}
	return 0, fmt.Errorf("%w: body starts with %q", ErrUnknownFormat, rest[0])
}

// parseFormat parses a body in format f. Every body goes through two stages:
// decoding finds the value of each known field, and [build] turns those
// values into a Message.
//
// Decoding has a fast path and a reference. The format's scanner
// (scanXML, scanJSON) makes one pass over the body and records where each
// known value stands, without copying anything. A scanner reports false for
// anything it does not fully understand: a prolog, comments, attributes,
// namespaces, an element inside a known field, escapes in JSON keys,
// nesting deeper than maxScanDepth, any syntax error. Then, and only then
// (or when a value build checks needs decoding: checkedFields), the body
// goes to the format's reference decoder (decodeXML, decodeJSON),
// built on encoding/xml and encoding/json, which defines what a push is and
// gives the precise error. Where a scanner reports true it agrees with the
// reference: the differential tests and fuzz targets hold them to it.
func parseFormat(f Format, body []byte) (Message, error) {
	fs := fields{src: body}
	if !scan(f, &fs) || fs.decode&checkedFields != 0 {
		v, err := decodeReference(f, body)
		if err != nil {
			return nil, err
		}
		if fs, err = v.fields(); err != nil {
			return nil, err
		}
	}
	return build(&fs, f, body)
}

// scan runs the scanner of format f on fs.src, which the caller sets in
// its own fields, where the store costs no write barrier.
func scan(f Format, fs *fields) bool {
	if f == FormatXML {
		return scanXML(fs.src, fs)
	}
	return scanJSON(fs.src, fs)
}

// decodeReference runs the reference decoder of format f.
func decodeReference(f Format, body []byte) (values, error) {
	if f == FormatXML {
		return decodeXML(body)
	}
	return decodeJSON(body)
}

// checkedFields are the fields build reads in place, before finish. A body
// where one of them needs decoding (an escaped MsgType, say: WeChat sends
// none) goes to the reference decoder, whose values need none, so that
// reading them never allocates.
const checkedFields fieldMask = 1<<fMsgType | 1<<fCreateTime | 1<<fEvent | 1<<fMsgID | 1<<fEncrypt

// build turns the fields of a well-formed body in format f, before finish,
// into a Message: the kind that MsgType and Event name in the kinds table,
// or Unknown. It reads what it checks from the fields' source, and then
// finishes only the values the message keeps: a kind's MsgType and Event
// are the table's. body is the whole body, kept as Unknown.Raw.
func build(fs *fields, f Format, body []byte) (Message, error) {
	if err := fs.check(1 << fMsgType); err != nil {
		return nil, err
	}
	msgType := fs.checked(fMsgType)
	if len(msgType) == 0 {
		if !fs.bad.has(fEncrypt) && len(fs.checked(fEncrypt)) != 0 {
			return nil, ErrEncrypted
		}
		return nil, fmt.Errorf("%w: no MsgType", ErrMalformed)
	}
	if err := fs.check(headerMask); err != nil {
		return nil, err
	}
	createTime, err := parseCreateTime(fs.checked(fCreateTime))
	if err != nil {
		return nil, err
	}
	k := kindFor(msgType, fs.checked(fEvent))
	if k == nil || k.msgID >= 0 {
		if err := checkMsgID(fs, f); err != nil {
			return nil, err
		}
	}
	if k == nil {
		text := fs.finish(f, allFields)
		h := Header{ToUserName: fs.val(text, fToUserName), FromUserName: fs.val(text, fFromUserName), CreateTime: createTime, MsgType: fs.val(text, fMsgType)}
		return &Unknown{Header: h, MsgID: fs.val(text, fMsgID), Event: fs.val(text, fEvent), Format: f, Raw: bytes.Clone(body)}, nil
	}
	if err := fs.check(k.mask); err != nil {
		return nil, err
	}
	keep := k.mask
	if k.event != "" {
		keep &^= 1 << fEvent // the table's, as MsgType is: kindFor matched it
	}
	text := fs.finish(f, 1<<fToUserName|1<<fFromUserName|keep)
	h := Header{ToUserName: fs.val(text, fToUserName), FromUserName: fs.val(text, fFromUserName), CreateTime: createTime, MsgType: k.msgType}
	var kv kindValues
	for i, fd := range k.fields {
		if keep.has(fd) {
			kv[i] = fs.val(text, fd)
		} else {
			kv[i] = k.event
		}
	}
	return k.make(h, kv), nil
}

// parseCreateTime reads CreateTime: "" is 0, anything else must be decimal
// digits (no sign) of an int64.
func parseCreateTime[T string | []byte](s T) (int64, error) {
	if len(s) == 0 {
		return 0, nil
	}
	if n := len(s); n >= 8 && n <= 16 {
		// The common case, ten digits: the first and last eight bytes,
		// which overlap, as two words of digits.
		first, last := load64(s, 0), load64(s, n-8)
		if nonDigits(first)|nonDigits(last) == 0 {
			head := parseDigits8(first << (8 * (16 - n))) // the first n-8 digits
			return int64(head*1e8 + parseDigits8(last)), nil
		}
	}
	n, ok := parseDigits(s, math.MaxInt64)
	if !ok {
		return 0, fmt.Errorf("%w: CreateTime is not decimal digits of an int64", ErrMalformed)
	}
	return int64(n), nil
}

// checkMsgID checks MsgId, before finish: absent (or empty), or, as a
// JSON string, any text without a control character, kept exactly
// (WeChat's cloud-function pushes send "49d72d...5_1555684067"), or, as a
// JSON number or in XML, decimal digits (no sign, fraction or exponent) of
// a uint64.
func checkMsgID(fs *fields, f Format) error {
	if err := fs.check(1 << fMsgID); err != nil {
		return err
	}
	if s := fs.checked(fMsgID); len(s) != 0 && !validMsgID(s) {
		// Decimal digits, the id WeChat sends, pass as a string too: the
		// string test, and its read of the byte before the value, is for
		// the rest only.
		return checkMsgIDString(fs, f, s)
	}
	return nil
}

// checkMsgIDString is checkMsgID for a MsgId s that is not decimal digits
// of a uint64: a JSON string without a control character, or an error.
func checkMsgIDString(fs *fields, f Format, s []byte) error {
	if f != FormatJSON || fs.isNumber(fMsgID) {
		return fmt.Errorf("%w: MsgId is not decimal digits of a uint64", ErrMalformed)
	}
	if hasControl(s) {
		return fmt.Errorf("%w: MsgId holds a control character", ErrMalformed)
	}
	return nil
}

// check returns ErrMalformed if any field of mask held a wrong value.
func (fs *fields) check(mask fieldMask) error {
	if m := fs.bad & mask; m != 0 {
		return badField(field(bits.TrailingZeros32(uint32(m))))
	}
	return nil
}

// badField is the error for a field holding the wrong kind of value.
func badField(f field) error {
	return fmt.Errorf("%w: %s does not hold a text value", ErrMalformed, fieldNames[f])
}
