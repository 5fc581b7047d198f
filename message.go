package csmsg

import (
	"strconv"
	"time"
)

// MsgType values of the message kinds this package decodes into typed structs.
const (
	MsgTypeText            = "text"            // a text message: *Text
	MsgTypeImage           = "image"           // an image message: *Image
	MsgTypeMiniProgramPage = "miniprogrampage" // a mini program card: *MiniProgramPage
	MsgTypeEvent           = "event"           // an event; see the Event constants
)

// Message is one customer-service push, as returned by [Parse]. Its dynamic
// type is the type of one of the typed kinds [Kinds] lists (*[Text],
// *[Image], *[MiniProgramPage], *[UserEnterTempSession]) or *[Unknown]; use a
// type switch to tell them apart. Every one implements Message through its
// embedded [Header].
type Message interface {
	// MsgHeader returns the fields every push carries.
	MsgHeader() *Header
}

// Header holds the fields common to every push.
type Header struct {
	// ToUserName is the mini program's original id (gh_...).
	ToUserName string
	// FromUserName is the sender's openid.
	FromUserName string
	// CreateTime is when WeChat created the push, in Unix seconds. An empty or
	// missing CreateTime is 0.
	CreateTime int64
	// MsgType is the wire kind: "text", "image", "miniprogrampage", "event",
	// or anything WeChat adds later.
	MsgType string
}

// MsgHeader returns h itself, so that every type embedding Header
// implements [Message].
func (h *Header) MsgHeader() *Header { return h }

// Time returns CreateTime as a time.Time.
func (h *Header) Time() time.Time { return time.Unix(h.CreateTime, 0) }

// Text is a text message the user sent in the customer-service chat
// (MsgType "text").
type Text struct {
	Header
	// MsgID is the message id (MsgId), kept as the exact text WeChat sent:
	// as a JSON number or in XML, the decimal digits of a 64-bit integer
	// (real ids exceed what a float64 holds); as a JSON string, any text
	// without a control character (WeChat's cloud-function pushes send
	// "49d72d67b16d115e7935ac386f2f0fa41535298877_1555684067"). "" when
	// absent.
	MsgID string
	// Content is the text of the message.
	Content string
}

// Image is an image the user sent in the customer-service chat
// (MsgType "image").
type Image struct {
	Header
	// MsgID is the message id (MsgId), kept as the exact text: see
	// [Text].MsgID.
	MsgID string
	// PicURL is the image link WeChat generated (PicUrl).
	PicURL string
	// MediaID is the id of the image as temporary media (MediaId); fetch it
	// with WeChat's getTempMedia API.
	MediaID string
}

// MiniProgramPage is a mini program card the user sent in the
// customer-service chat (MsgType "miniprogrampage").
type MiniProgramPage struct {
	Header
	// MsgID is the message id (MsgId), kept as the exact text: see
	// [Text].MsgID.
	MsgID string
	// Title is the card's title.
	Title string
	// AppID is the appid of the mini program the card opens (AppId).
	AppID string
	// PagePath is the page of that mini program the card opens.
	PagePath string
	// ThumbURL is a temporary CDN link to the card's cover image (ThumbUrl).
	ThumbURL string
	// ThumbMediaID is the cover image's temporary media id (ThumbMediaId).
	ThumbMediaID string
}

// Unknown is any well-formed push that is not one of the typed kinds: WeChat
// sends debug_demo events, subscribe-message events, media-check results and
// more to the same URL. It is returned with a nil error, so a new kind of push
// never breaks a backend; Raw holds the whole body for the caller to decode.
type Unknown struct {
	Header
	// MsgID is the MsgId field, if the push has one (a voice or video
	// message, say), kept as the exact text: see [Text].MsgID.
	MsgID string
	// Event is the Event field, if the push has one ("debug_demo", ...).
	Event string
	// Format is the format the push came in.
	Format Format
	// Raw is a copy of the exact body bytes (for a Receiver, the decrypted
	// message).
	Raw []byte
}

// Format is the wire format of a push, chosen by the mini program's admin.
type Format int

// The two formats WeChat pushes in.
const (
	FormatXML  Format = iota + 1 // <xml>...</xml>
	FormatJSON                   // {...}
)

// String returns "xml", "json", or "Format(n)" for any other value.
func (f Format) String() string {
	switch f {
	case FormatXML:
		return "xml"
	case FormatJSON:
		return "json"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}
