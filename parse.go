package csmsg

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
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

// parseFormat parses a body in format f: with the format's scanner, or, for
// what the scanner leaves alone, with its reference decoder.
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

// trimBOM returns body without a leading UTF-8 byte-order mark.
func trimBOM(body []byte) []byte {
	return body[bomLen(body):]
}

// trimLeft returns body without a leading byte-order mark and whitespace.
func trimLeft(body []byte) []byte {
	return body[skipSpace(body, bomLen(body)):]
}

// isSpace reports whether c is whitespace in both XML and JSON.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// isAllSpace reports whether b holds nothing but whitespace.
func isAllSpace(b []byte) bool {
	return skipSpace(b, 0) == len(b)
}

// field names one of the wire fields this package knows.
type field uint8

// The known fields. The decoders of both formats fill a [fields] indexed by
// these, and [build] turns it into a Message.
const (
	fToUserName field = iota
	fFromUserName
	fCreateTime
	fMsgType
	fEvent
	fEncrypt
	fMsgID
	fContent
	fPicURL
	fMediaID
	fTitle
	fAppID
	fPagePath
	fThumbURL
	fThumbMediaID
	fSessionFrom
	numFields
)

// fieldNames holds each field's wire name: the XML element and the JSON key,
// spelled as WeChat spells them.
var fieldNames = [numFields]string{
	fToUserName:   "ToUserName",
	fFromUserName: "FromUserName",
	fCreateTime:   "CreateTime",
	fMsgType:      "MsgType",
	fEvent:        "Event",
	fEncrypt:      "Encrypt",
	fMsgID:        "MsgId",
	fContent:      "Content",
	fPicURL:       "PicUrl",
	fMediaID:      "MediaId",
	fTitle:        "Title",
	fAppID:        "AppId",
	fPagePath:     "PagePath",
	fThumbURL:     "ThumbUrl",
	fThumbMediaID: "ThumbMediaId",
	fSessionFrom:  "SessionFrom",
}

// lookupField returns the field whose wire name is exactly name
// (case-sensitively).
func lookupField[T string | []byte](name T) (field, bool) {
	switch string(name) {
	case "ToUserName":
		return fToUserName, true
	case "FromUserName":
		return fFromUserName, true
	case "CreateTime":
		return fCreateTime, true
	case "MsgType":
		return fMsgType, true
	case "Event":
		return fEvent, true
	case "Encrypt":
		return fEncrypt, true
	case "MsgId":
		return fMsgID, true
	case "Content":
		return fContent, true
	case "PicUrl":
		return fPicURL, true
	case "MediaId":
		return fMediaID, true
	case "Title":
		return fTitle, true
	case "AppId":
		return fAppID, true
	case "PagePath":
		return fPagePath, true
	case "ThumbUrl":
		return fThumbURL, true
	case "ThumbMediaId":
		return fThumbMediaID, true
	case "SessionFrom":
		return fSessionFrom, true
	}
	return 0, false
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
	val [numFields]string
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

// The fields each kind of message reads, beside MsgType.
const (
	headerMask          fieldMask = 1<<fToUserName | 1<<fFromUserName | 1<<fCreateTime | 1<<fEvent
	textMask            fieldMask = 1<<fMsgID | 1<<fContent
	imageMask           fieldMask = 1<<fMsgID | 1<<fPicURL | 1<<fMediaID
	miniProgramPageMask fieldMask = 1<<fMsgID | 1<<fTitle | 1<<fAppID | 1<<fPagePath | 1<<fThumbURL | 1<<fThumbMediaID
	sessionMask         fieldMask = 1 << fSessionFrom
)

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

// build turns the fields of a well-formed body into a Message: the dispatch
// from MsgType and Event to a type, for both formats. body is the whole body,
// kept as Unknown.Raw.
func build(fs *fields, format Format, body []byte) (Message, error) {
	v := &fs.val
	if err := fs.check(1 << fMsgType); err != nil {
		return nil, err
	}
	if v[fMsgType] == "" {
		if !fs.bad.has(fEncrypt) && v[fEncrypt] != "" {
			return nil, ErrEncrypted
		}
		return nil, fmt.Errorf("%w: no MsgType", ErrMalformed)
	}
	if err := fs.check(headerMask); err != nil {
		return nil, err
	}
	createTime, err := parseCreateTime(v[fCreateTime])
	if err != nil {
		return nil, err
	}
	h := Header{
		ToUserName:   v[fToUserName],
		FromUserName: v[fFromUserName],
		CreateTime:   createTime,
		MsgType:      v[fMsgType],
	}
	switch h.MsgType {
	case MsgTypeText:
		if err := fs.check(textMask); err != nil {
			return nil, err
		}
		return &Text{Header: h, MsgID: v[fMsgID], Content: v[fContent]}, nil
	case MsgTypeImage:
		if err := fs.check(imageMask); err != nil {
			return nil, err
		}
		return &Image{Header: h, MsgID: v[fMsgID], PicURL: v[fPicURL], MediaID: v[fMediaID]}, nil
	case MsgTypeMiniProgramPage:
		if err := fs.check(miniProgramPageMask); err != nil {
			return nil, err
		}
		return &MiniProgramPage{
			Header:       h,
			MsgID:        v[fMsgID],
			Title:        v[fTitle],
			AppID:        v[fAppID],
			PagePath:     v[fPagePath],
			ThumbURL:     v[fThumbURL],
			ThumbMediaID: v[fThumbMediaID],
		}, nil
	case MsgTypeEvent:
		if v[fEvent] == EventUserEnterTempSession {
			if err := fs.check(sessionMask); err != nil {
				return nil, err
			}
			return &UserEnterTempSession{Header: h, Event: v[fEvent], SessionFrom: v[fSessionFrom]}, nil
		}
	}
	return &Unknown{Header: h, Event: v[fEvent], Format: format, Raw: bytes.Clone(body)}, nil
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
