// Package kfwire holds what WeChat's customer-service API (客服消息) puts on
// the wire, once: the paths, the JSON bodies of requests and answers, and
// the errcodes with WeChat's errmsg and a hint for the developer. Package kf
// writes these requests, package kf/kftest answers them, and the emulator
// of cmd/csmsg shows them.
package kfwire

import (
	"bytes"
	"encoding/json"
)

// Paths of the API's calls.
const (
	PathStableToken = "/cgi-bin/stable_token"
	PathToken       = "/cgi-bin/token"
	PathSend        = "/cgi-bin/message/custom/send"
	PathTyping      = "/cgi-bin/message/custom/typing"
	PathUpload      = "/cgi-bin/media/upload"
	PathGetMedia    = "/cgi-bin/media/get"
)

// The msgtype values of a send.
const (
	MsgTypeText            = "text"
	MsgTypeImage           = "image"
	MsgTypeLink            = "link"
	MsgTypeMiniProgramPage = "miniprogrampage"
)

// The command values of a typing call.
const (
	CommandTyping       = "Typing"
	CommandCancelTyping = "CancelTyping"
)

// StableTokenRequest is the body of POST /cgi-bin/stable_token.
type StableTokenRequest struct {
	GrantType    string `json:"grant_type"` // "client_credential"
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	ForceRefresh bool   `json:"force_refresh"`
}

// GrantType is the only grant_type of a StableTokenRequest.
const GrantType = "client_credential"

// StableTokenAnswer is the success answer of /cgi-bin/stable_token.
type StableTokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"` // seconds the token has left
}

// Send is the body of POST /cgi-bin/message/custom/send: the object of
// MsgType is set, the others are nil.
type Send struct {
	ToUser          string           `json:"touser"`
	MsgType         string           `json:"msgtype"`
	Text            *Text            `json:"text,omitempty"`
	Image           *Image           `json:"image,omitempty"`
	Link            *Link            `json:"link,omitempty"`
	MiniProgramPage *MiniProgramPage `json:"miniprogrampage,omitempty"`
}

// Text is the text object of a send.
type Text struct {
	Content string `json:"content"`
}

// Image is the image object of a send.
type Image struct {
	MediaID string `json:"media_id"`
}

// Link is the link object of a send.
type Link struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	ThumbURL    string `json:"thumb_url"`
}

// MiniProgramPage is the miniprogrampage object of a send.
type MiniProgramPage struct {
	Title        string `json:"title"`
	PagePath     string `json:"pagepath"`
	ThumbMediaID string `json:"thumb_media_id"`
}

// Typing is the body of POST /cgi-bin/message/custom/typing.
type Typing struct {
	ToUser  string `json:"touser"`
	Command string `json:"command"` // CommandTyping or CommandCancelTyping
}

// Status is the errcode and errmsg every JSON answer may carry.
type Status struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// UploadAnswer is the success answer of /cgi-bin/media/upload.
type UploadAnswer struct {
	Status
	Type      string `json:"type"`
	MediaID   string `json:"media_id"`
	CreatedAt int64  `json:"created_at"`
}

// Marshal encodes v as the API's JSON: without HTML escaping, ending in a
// newline.
func Marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // the wire types hold strings, numbers and bools: no error
	return buf.Bytes()
}
