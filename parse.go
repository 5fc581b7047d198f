package csmsg

import (
	"bytes"
	"errors"
	"fmt"
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
	if f == FormatXML {
		return ParseXML(body)
	}
	return ParseJSON(body)
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

// utf8BOM is the UTF-8 encoding of U+FEFF, which some senders put before a body.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// trimBOM returns body without a leading UTF-8 byte-order mark.
func trimBOM(body []byte) []byte {
	return bytes.TrimPrefix(body, utf8BOM)
}

// trimLeft returns body without a leading byte-order mark and whitespace.
func trimLeft(body []byte) []byte {
	b := trimBOM(body)
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	return b
}

// isSpace reports whether c is whitespace in both XML and JSON.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// isAllSpace reports whether b holds nothing but whitespace.
func isAllSpace(b []byte) bool {
	for _, c := range b {
		if !isSpace(c) {
			return false
		}
	}
	return true
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
func lookupField(name string) (field, bool) {
	switch name {
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
	bad [numFields]bool

	// encryptAt is where the Encrypt value starts in the body, when a
	// scanner found it there as is (no escape, no entity); 0 otherwise. It
	// lets a Receiver decode it from the body without a copy.
	encryptAt int
}

// set records the last occurrence of f.
func (fs *fields) set(f field, val string, bad bool) {
	fs.val[f] = val
	fs.bad[f] = bad
	if f == fEncrypt {
		fs.encryptAt = 0
	}
}

// check returns ErrMalformed if any of the given fields held a wrong value.
func (fs *fields) check(list ...field) error {
	for _, f := range list {
		if fs.bad[f] {
			return fmt.Errorf("%w: %s does not hold a text value", ErrMalformed, fieldNames[f])
		}
	}
	return nil
}

// build turns the fields of a well-formed body into a Message: the dispatch
// from MsgType and Event to a type, for both formats. body is the whole body,
// kept as Unknown.Raw.
func build(fs *fields, format Format, body []byte) (Message, error) {
	v := &fs.val
	if err := fs.check(fMsgType); err != nil {
		return nil, err
	}
	if v[fMsgType] == "" {
		if !fs.bad[fEncrypt] && v[fEncrypt] != "" {
			return nil, ErrEncrypted
		}
		return nil, fmt.Errorf("%w: no MsgType", ErrMalformed)
	}
	if err := fs.check(fToUserName, fFromUserName, fCreateTime, fEvent); err != nil {
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
		if err := fs.check(fMsgID, fContent); err != nil {
			return nil, err
		}
		return &Text{Header: h, MsgID: v[fMsgID], Content: v[fContent]}, nil
	case MsgTypeImage:
		if err := fs.check(fMsgID, fPicURL, fMediaID); err != nil {
			return nil, err
		}
		return &Image{Header: h, MsgID: v[fMsgID], PicURL: v[fPicURL], MediaID: v[fMediaID]}, nil
	case MsgTypeMiniProgramPage:
		if err := fs.check(fMsgID, fTitle, fAppID, fPagePath, fThumbURL, fThumbMediaID); err != nil {
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
			if err := fs.check(fSessionFrom); err != nil {
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
