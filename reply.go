package csmsg

import (
	"net/url"
	"strconv"

	"github.com/csmsg/csmsg/internal/wxcrypto"
)

// transferMsgType is the MsgType of the transfer passive reply.
const transferMsgType = "transfer_customer_service"

// Reply is a passive reply to a push, written in the push's format, and
// encrypted when the push was: by the [Receiver.Handler] from what its
// HandlerFunc returns, or by [Receiver.EncodeReply] for any other
// framework. The one reply WeChat documents for mini programs is the
// transfer to the customer-service tool: see [Transfer].
type Reply struct {
	toUser   string // the user's openid
	fromUser string // the mini program's original id
	msgType  string
}

// Transfer returns the reply that hands msg's conversation to WeChat's
// customer-service tool (MsgType transfer_customer_service), addressed to
// msg's sender from the mini program. Events are never transferred: for an
// event, or a nil msg, Transfer returns nil, which answers "success".
func Transfer(msg Message) *Reply {
	h := headerOf(msg)
	if h == nil || h.MsgType == MsgTypeEvent {
		return nil
	}
	return &Reply{toUser: h.FromUserName, fromUser: h.ToUserName, msgType: transferMsgType}
}

// The Content-Types of the answers to a push.
const (
	contentTypeText = "text/plain; charset=utf-8"
	contentTypeXML  = "application/xml; charset=utf-8"
	contentTypeJSON = "application/json; charset=utf-8"
)

// EncodeReply returns exactly what the [Receiver.Handler] answers, with
// status 200, to a push whose handling produced reply: query and body are
// the push request's URL query and body as received. A nil reply is
// "success" as text/plain. Otherwise it is the reply in the push's format
// with CreateTime from the receiver's clock; at a receiver with a key
// (compatible and safe mode) it is encrypted and signed in an envelope of
// Encrypt, MsgSignature, TimeStamp and the push's Nonce. contentType is the
// Content-Type to send with out.
//
// It does not verify the push again: call it after [Receiver.Parse]
// accepted it. A body of neither format is [ErrUnknownFormat], a query
// without one nonce at a receiver with a key [ErrInvalidSignature], and a
// reply that cannot be written [ErrInvalidMessage].
func (r *Receiver) EncodeReply(query url.Values, body []byte, reply *Reply) (out []byte, contentType string, err error) {
	answer, err := r.encodeReply(body, reply)
	if err != nil {
		return nil, "", err
	}
	return r.wrapAnswer(query, body, answer)
}

// encodeReply writes reply in the format of the push body, with CreateTime
// from the receiver's clock: the answer a dedup store keeps. A nil reply is
// a nil answer, "success".
func (r *Receiver) encodeReply(body []byte, reply *Reply) ([]byte, error) {
	if reply == nil {
		return nil, nil
	}
	f, err := sniff(body)
	if err != nil {
		return nil, err
	}
	e := encoder{format: f}
	e.open()
	e.str(fieldNames[fToUserName], reply.toUser)
	e.str(fieldNames[fFromUserName], reply.fromUser)
	e.int(fieldNames[fCreateTime], r.now().Unix())
	e.str(fieldNames[fMsgType], reply.msgType)
	e.close()
	return e.buf, e.err
}

// wrapAnswer returns what answers the push of query and body with answer,
// an encoded reply or nil for "success": in compatible and safe mode the
// reply is encrypted and signed for this request's nonce.
func (r *Receiver) wrapAnswer(query url.Values, body, answer []byte) (out []byte, contentType string, err error) {
	if answer == nil {
		return []byte("success"), contentTypeText, nil
	}
	f, err := sniff(body)
	if err != nil {
		return nil, "", err
	}
	contentType = contentTypeJSON
	if f == FormatXML {
		contentType = contentTypeXML
	}
	if r.key == nil {
		return answer, contentType, nil
	}
	nonce, err := queryParam(query, "nonce")
	if err != nil {
		return nil, "", err
	}
	timestamp := strconv.FormatInt(r.now().Unix(), 10)
	out, err = wxcrypto.SealReply(r.key, r.rand, r.token, r.appID, timestamp, nonce, answer, f == FormatJSON)
	if err != nil {
		return nil, "", sealError(err)
	}
	return out, contentType, nil
}
