package csmsg

import (
	"bytes"
	"fmt"
	"math"
	"strings"
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

// maxScanDepth is how deeply the scanners follow nested unknown values
// before they hand the body to the reference decoder.
const maxScanDepth = 32

// decodeReference runs the reference decoder of format f.
func decodeReference(f Format, body []byte) (values, error) {
	if f == FormatXML {
		return decodeXML(body)
	}
	return decodeJSON(body)
}

// kinds is the table of typed message kinds: for each, its Go type, the
// MsgType (and Event) WeChat sends it with, and its fields beside the
// header, each with its wire name, in the order WeChat writes them. The
// scanners, the reference decoders, build, Marshal and DedupKey all derive
// from it. Adding a kind is: its struct, one entry here, testdata.
var kinds = []kind{
	kindOf(MsgTypeText, "",
		wireNames{"Content", "MsgId"},
		func(m *Text) fieldPtrs { return fieldPtrs{&m.Content, &m.MsgID} },
		func(h Header, v kindValues) Message { return &Text{Header: h, Content: v[0], MsgID: v[1]} }),
	kindOf(MsgTypeImage, "",
		wireNames{"PicUrl", "MediaId", "MsgId"},
		func(m *Image) fieldPtrs { return fieldPtrs{&m.PicURL, &m.MediaID, &m.MsgID} },
		func(h Header, v kindValues) Message {
			return &Image{Header: h, PicURL: v[0], MediaID: v[1], MsgID: v[2]}
		}),
	kindOf(MsgTypeMiniProgramPage, "",
		wireNames{"MsgId", "Title", "AppId", "PagePath", "ThumbUrl", "ThumbMediaId"},
		func(m *MiniProgramPage) fieldPtrs {
			return fieldPtrs{&m.MsgID, &m.Title, &m.AppID, &m.PagePath, &m.ThumbURL, &m.ThumbMediaID}
		},
		func(h Header, v kindValues) Message {
			return &MiniProgramPage{Header: h, MsgID: v[0], Title: v[1], AppID: v[2], PagePath: v[3], ThumbURL: v[4], ThumbMediaID: v[5]}
		}),
	kindOf(MsgTypeEvent, EventUserEnterTempSession,
		wireNames{"Event", "SessionFrom"},
		func(m *UserEnterTempSession) fieldPtrs { return fieldPtrs{&m.Event, &m.SessionFrom} },
		func(h Header, v kindValues) Message {
			return &UserEnterTempSession{Header: h, Event: v[0], SessionFrom: v[1]}
		}),
}

// kind is one entry of the kinds table. Its fields past the first three are
// derived by kindOf.
type kind struct {
	goType  string // the Go type's name: "Text"
	msgType string // MsgType
	event   string // Event, for a kind of MsgType "event"; "" otherwise

	byEvent bool      // MsgType is "event": Event tells the kind
	fields  []field   // the kind's own fields, in wire order
	mask    fieldMask // the same, as a set
	// make returns a new message of this kind with header h and, in the
	// order of fields, the values v.
	make func(h Header, v kindValues) Message
	// bind returns m's header and fields when m is of this kind (ok), with
	// h nil for a nil pointer.
	bind func(m Message) (h *Header, fs fieldPtrs, ok bool)
}

// maxKindFields bounds the fields of one kind beside the header.
const maxKindFields = 8

// wireNames are the wire names of a kind's fields beside the header, in
// the order WeChat writes them; fieldPtrs are the Go fields that hold their
// values, in the same order.
type (
	wireNames  [maxKindFields]string
	kindValues [maxKindFields]string
	fieldPtrs  [maxKindFields]*string
)

// kindOf makes the kinds entry of the Go type T, which embeds Header and
// whose fields beside the header fieldsOf lists.
func kindOf[T any, P interface {
	*T
	Message
}](msgType, event string, names wireNames, fieldsOf func(P) fieldPtrs, make func(Header, kindValues) Message) kind {
	k := kind{
		goType:  strings.TrimPrefix(fmt.Sprintf("%T", P(nil)), "*csmsg."),
		msgType: msgType,
		event:   event,
		byEvent: msgType == MsgTypeEvent,
		bind: func(m Message) (*Header, fieldPtrs, bool) {
			p, ok := m.(P)
			if !ok || p == nil {
				return nil, fieldPtrs{}, ok
			}
			return p.MsgHeader(), fieldsOf(p), true
		},
	}
	for _, name := range names {
		if name != "" {
			f := registerField(name)
			k.fields = append(k.fields, f)
			k.mask = k.mask.with(f, true)
		}
	}
	k.make = make
	return k
}

// kindFor returns the kind of a push with this MsgType and Event, or nil
// for a kind without a type.
func kindFor[T string | []byte](msgType, event T) *kind {
	if len(msgType) == 0 {
		return nil
	}
	for i := int(kindFrom[msgType[0]]); i < len(kinds); i++ {
		k := &kinds[i]
		if sameString(k.msgType, msgType) && (!k.byEvent || sameString(k.event, event)) {
			return k
		}
	}
	return nil
}

// kindFrom gives, for each byte, the index in kinds of the first kind whose
// MsgType starts with it (len(kinds) for none), where kindFor starts
// looking.
var kindFrom = func() (t [256]uint8) {
	for c := range t {
		t[c] = uint8(len(kinds))
	}
	for i := len(kinds) - 1; i >= 0; i-- {
		t[kinds[i].msgType[0]] = uint8(i)
	}
	return t
}()

// sameString is a == b, with the length and the first byte compared
// first: most strings kindFor compares differ there, and the full compare
// is a call.
func sameString[T string | []byte](a string, b T) bool {
	return len(a) == len(b) && (len(a) == 0 || a[0] == b[0]) && a == string(b)
}

// kindOfMessage returns the kind of m's type and m's header and fields, or
// a nil kind for a type not in the table. h is nil for a nil pointer.
func kindOfMessage(m Message) (k *kind, h *Header, fs fieldPtrs) {
	for i := range kinds {
		if h, fs, ok := kinds[i].bind(m); ok {
			return &kinds[i], h, fs
		}
	}
	return nil, nil, fieldPtrs{}
}

// headerOf returns msg's header, or nil for a nil message, typed or not,
// and for a type of another package.
func headerOf(msg Message) *Header {
	if u, ok := msg.(*Unknown); ok {
		if u == nil {
			return nil
		}
		return &u.Header
	}
	_, h, _ := kindOfMessage(msg)
	return h
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
	if k == nil || k.mask.has(fMsgID) {
		if err := checkMsgID(fs); err != nil {
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

// checkMsgID checks MsgId, before finish: absent, or decimal digits (no
// sign, fraction or exponent) of a uint64, whether a JSON number or a
// string.
func checkMsgID(fs *fields) error {
	if err := fs.check(1 << fMsgID); err != nil {
		return err
	}
	if s := fs.checked(fMsgID); len(s) != 0 && !validMsgID(s) {
		return fmt.Errorf("%w: MsgId is not decimal digits of a uint64", ErrMalformed)
	}
	return nil
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

// malformed wraps a decoder's error beneath ErrMalformed.
func malformed(err error) error {
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}
