package csmsg

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
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
// nesting deeper than maxScanDepth, any syntax error. Then, and only then,
// the body goes to the format's reference decoder (decodeXML, decodeJSON),
// built on encoding/xml and encoding/json, which defines what a push is and
// gives the precise error. Where a scanner reports true it agrees with the
// reference: the differential tests and fuzz targets hold them to it.
func parseFormat(f Format, body []byte) (Message, error) {
	var fs fields
	var sc scanned
	if scan(f, body, &sc) {
		sc.fill(&fs, body, f)
	} else {
		var err error
		if fs, err = decodeReference(f, body); err != nil {
			return nil, err
		}
	}
	return build(&fs, f, body)
}

// scan runs the scanner of format f.
func scan(f Format, body []byte, sc *scanned) bool {
	if f == FormatXML {
		return scanXML(body, sc)
	}
	return scanJSON(body, sc)
}

// decodeReference runs the reference decoder of format f.
func decodeReference(f Format, body []byte) (fields, error) {
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
	kindOf(MsgTypeText, "", func(m *Text) wireFields {
		return wireFields{{"Content", &m.Content}, {"MsgId", &m.MsgID}}
	}),
	kindOf(MsgTypeImage, "", func(m *Image) wireFields {
		return wireFields{{"PicUrl", &m.PicURL}, {"MediaId", &m.MediaID}, {"MsgId", &m.MsgID}}
	}),
	kindOf(MsgTypeMiniProgramPage, "", func(m *MiniProgramPage) wireFields {
		return wireFields{{"MsgId", &m.MsgID}, {"Title", &m.Title}, {"AppId", &m.AppID},
			{"PagePath", &m.PagePath}, {"ThumbUrl", &m.ThumbURL}, {"ThumbMediaId", &m.ThumbMediaID}}
	}),
	kindOf(MsgTypeEvent, EventUserEnterTempSession, func(m *UserEnterTempSession) wireFields {
		return wireFields{{"Event", &m.Event}, {"SessionFrom", &m.SessionFrom}}
	}),
}

// kind is one entry of the kinds table. Its fields past the first three are
// derived by kindOf.
type kind struct {
	goType  string // the Go type's name: "Text"
	msgType string // MsgType
	event   string // Event, for a kind of MsgType "event"; "" otherwise

	fields []field   // the kind's own fields, in wire order
	mask   fieldMask // the same, as a set
	// new returns a new message of this kind, its header and its fields.
	new func() (m Message, h *Header, fs wireFields)
	// bind returns m's header and fields when m is of this kind (ok), with
	// h nil for a nil pointer.
	bind func(m Message) (h *Header, fs wireFields, ok bool)
}

// maxKindFields bounds the fields of one kind beside the header.
const maxKindFields = 8

// wireFields are a message's fields beside the header: each wire name with
// the Go field that holds its value. Unused entries have an empty name.
type wireFields [maxKindFields]struct {
	name string
	val  *string
}

// kindOf makes the kinds entry of the Go type T, which embeds Header and
// whose fields beside the header fieldsOf lists.
func kindOf[T any, P interface {
	*T
	Message
}](msgType, event string, fieldsOf func(P) wireFields) kind {
	k := kind{
		goType:  strings.TrimPrefix(fmt.Sprintf("%T", P(nil)), "*csmsg."),
		msgType: msgType,
		event:   event,
		bind: func(m Message) (*Header, wireFields, bool) {
			p, ok := m.(P)
			if !ok || p == nil {
				return nil, wireFields{}, ok
			}
			return p.MsgHeader(), fieldsOf(p), true
		},
	}
	for _, w := range fieldsOf(new(T)) {
		if w.name != "" {
			f := registerField(w.name)
			k.fields = append(k.fields, f)
			k.mask = k.mask.with(f, true)
		}
	}
	k.new = func() (Message, *Header, wireFields) {
		p := P(new(T))
		return p, p.MsgHeader(), fieldsOf(p)
	}
	return k
}

// kindFor returns the kind of a push with this MsgType and Event, or nil
// for a kind without a type.
func kindFor(msgType, event string) *kind {
	for i := range kinds {
		k := &kinds[i]
		if k.msgType == msgType && (msgType != MsgTypeEvent || k.event == event) {
			return k
		}
	}
	return nil
}

// kindOfMessage returns the kind of m's type and m's header and fields, or
// a nil kind for a type not in the table. h is nil for a nil pointer.
func kindOfMessage(m Message) (k *kind, h *Header, fs wireFields) {
	for i := range kinds {
		if h, fs, ok := kinds[i].bind(m); ok {
			return &kinds[i], h, fs
		}
	}
	return nil, nil, wireFields{}
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

// field numbers one of the wire fields this package knows: the header's,
// then those of the kinds table, registered as the table is built.
type field uint8

// The header's fields, which every push may carry. The kinds' fields follow.
const (
	fToUserName field = iota
	fFromUserName
	fCreateTime
	fMsgType
	fEvent
	fEncrypt
	fMsgID
	numHeaderFields
)

// maxFields bounds the known fields, a bit each in a fieldMask.
const maxFields = 24

// fieldNames holds each known field's wire name, the XML element and the
// JSON key, spelled as WeChat spells them; numFields of them are in use.
var (
	fieldNames = [maxFields]string{
		fToUserName:   "ToUserName",
		fFromUserName: "FromUserName",
		fCreateTime:   "CreateTime",
		fMsgType:      "MsgType",
		fEvent:        "Event",
		fEncrypt:      "Encrypt",
		fMsgID:        "MsgId",
	}
	numFields = int(numHeaderFields)
)

// registerField returns the field of a wire name, adding it if it is new.
// It runs as the kinds table is built, before any parse.
func registerField(name string) field {
	if f, ok := lookupField(name); ok {
		return f
	}
	if numFields == maxFields {
		panic("csmsg: more than maxFields wire names in the kinds table")
	}
	f := field(numFields)
	fieldNames[f] = name
	numFields++
	fieldIndex.add(name, f)
	return f
}

// fieldIndex finds a wire name's field: an open-addressing table hashed on
// the name's length and first and last bytes, which tell WeChat's names
// apart in one probe or two.
var fieldIndex = func() (t fieldTable) {
	for f := field(0); f < numHeaderFields; f++ {
		t.add(fieldNames[f], f)
	}
	return t
}()

type fieldTable [64]struct {
	name string
	f    field
}

func fieldHash(n int, first, last byte) int {
	return (n*13 + int(first)*7 + int(last)) & 63
}

func (t *fieldTable) add(name string, f field) {
	h := fieldHash(len(name), name[0], name[len(name)-1])
	for t[h].name != "" {
		h = (h + 1) & 63
	}
	t[h].name, t[h].f = name, f
}

// lookupField returns the field whose wire name is exactly name
// (case-sensitively).
func lookupField[T string | []byte](name T) (field, bool) {
	n := len(name)
	if n == 0 {
		return 0, false
	}
	for h := fieldHash(n, name[0], name[n-1]); ; h = (h + 1) & 63 {
		e := &fieldIndex[h]
		if e.name == "" {
			return 0, false
		}
		if e.name == string(name) {
			return e.f, true
		}
	}
}

// numeric reports whether a JSON number is an acceptable value of f, which
// otherwise must be a string: MsgId and CreateTime come as either.
func (f field) numeric() bool { return f == fMsgID || f == fCreateTime }

// fields is what a format's decoder extracts from a well-formed body: the
// text of the last occurrence of each known field ("" when absent or null),
// and whether that occurrence held the wrong kind of value (a JSON value that
// is neither a string, nor null, nor, for MsgId and CreateTime, a number; an
// XML element holding another element). A wrong value is an error only for
// the fields of the kind being built.
type fields struct {
	val [maxFields]string
	bad fieldMask
}

// fieldMask is a set of fields, a bit each.
type fieldMask uint32

// with returns m with f in it or not.
func (m fieldMask) with(f field, in bool) fieldMask {
	if in {
		return m | 1<<f
	}
	return m &^ (1 << f)
}

// has reports whether f is in m.
func (m fieldMask) has(f field) bool { return m&(1<<f) != 0 }

// headerMask holds the fields every kind reads, beside MsgType.
const headerMask fieldMask = 1<<fToUserName | 1<<fFromUserName | 1<<fCreateTime | 1<<fEvent

// set records the last occurrence of f.
func (fs *fields) set(f field, val string, bad bool) {
	fs.val[f] = val
	fs.bad = fs.bad.with(f, bad)
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

// build turns the fields of a well-formed body into a Message: the kind
// that MsgType and Event name in the kinds table, or Unknown. body is the
// whole body, kept as Unknown.Raw.
func build(fs *fields, format Format, body []byte) (Message, error) {
	var h Header
	if err := buildHeader(&h, fs); err != nil {
		return nil, err
	}
	k := kindFor(h.MsgType, fs.val[fEvent])
	if k == nil {
		return &Unknown{Header: h, Event: fs.val[fEvent], Format: format, Raw: bytes.Clone(body)}, nil
	}
	if err := fs.check(k.mask); err != nil {
		return nil, err
	}
	m, mh, wf := k.new()
	*mh = h
	for i, f := range k.fields {
		*wf[i].val = fs.val[f]
	}
	return m, nil
}

// buildHeader reads into h the header every push carries. A body without MsgType
// is ErrEncrypted if it has an Encrypt value, and ErrMalformed otherwise.
func buildHeader(h *Header, fs *fields) error {
	v := &fs.val
	if err := fs.check(1 << fMsgType); err != nil {
		return err
	}
	if v[fMsgType] == "" {
		if !fs.bad.has(fEncrypt) && v[fEncrypt] != "" {
			return ErrEncrypted
		}
		return fmt.Errorf("%w: no MsgType", ErrMalformed)
	}
	if err := fs.check(headerMask); err != nil {
		return err
	}
	createTime, err := parseCreateTime(v[fCreateTime])
	if err != nil {
		return err
	}
	h.ToUserName, h.FromUserName, h.CreateTime, h.MsgType = v[fToUserName], v[fFromUserName], createTime, v[fMsgType]
	return nil
}

// parseCreateTime reads CreateTime: "" is 0, anything else must be a decimal
// int64.
func parseCreateTime(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if len(s) <= 18 { // the common case: digits that cannot overflow
		var n int64
		for i := 0; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
			n = n*10 + int64(s[i]-'0')
			if i == len(s)-1 {
				return n, nil
			}
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err // the NumError would quote the whole value
		}
		return 0, fmt.Errorf("%w: CreateTime is not an integer: %w", ErrMalformed, err)
	}
	return n, nil
}

// malformed wraps a decoder's error beneath ErrMalformed.
func malformed(err error) error {
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}
