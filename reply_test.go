package csmsg

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/csmsg/csmsg/internal/wxcrypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// transferXML and transferJSON are the transfer reply to testdata/text.*,
// at the receiver's clock.
const (
	transferXML  = `<xml><ToUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></ToUserName><FromUserName><![CDATA[gh_97417a04a28d]]></FromUserName><CreateTime>1714112445</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>`
	transferJSON = `{"ToUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","FromUserName":"gh_97417a04a28d","CreateTime":1714112445,"MsgType":"transfer_customer_service"}`
)

// replyEnvelope is an encrypted reply, decoded independently of the code
// under test.
type replyEnvelope struct {
	Encrypt      string `xml:"Encrypt" json:"Encrypt"`
	MsgSignature string `xml:"MsgSignature" json:"MsgSignature"`
	TimeStamp    int64  `xml:"TimeStamp" json:"TimeStamp"`
	Nonce        string `xml:"Nonce" json:"Nonce"`
}

// replyEntryPoints are the ways to answer a push with Transfer: the Handler,
// and EncodeReply as a framework's handler calls it. Each returns the status,
// the Content-Type and the body.
var replyEntryPoints = map[string]func(r *Receiver, q url.Values, body []byte) (int, string, []byte){
	"Handler": func(r *Receiver, q url.Values, body []byte) (int, string, []byte) {
		w := serve(r.Handler(func(_ context.Context, m Message) (*Reply, error) { return Transfer(m), nil }), http.MethodPost, q, body)
		return w.Code, w.Header().Get("Content-Type"), w.Body.Bytes()
	},
	"EncodeReply": func(r *Receiver, q url.Values, body []byte) (int, string, []byte) {
		msg, err := r.Parse(q, body)
		if err != nil {
			return http.StatusBadRequest, "", nil
		}
		out, contentType, err := r.EncodeReply(q, body, Transfer(msg))
		if err != nil {
			return http.StatusInternalServerError, "", nil
		}
		return http.StatusOK, contentType, out
	},
}

func TestHandlerTransfer(t *testing.T) {
	cases := []struct {
		ext         string
		mode        Mode
		contentType string
		want        string
	}{
		{".xml", ModePlaintext, "application/xml; charset=utf-8", transferXML},
		{".json", ModePlaintext, "application/json; charset=utf-8", transferJSON},
		{".xml", ModeSafe, "application/xml; charset=utf-8", transferXML},
		{".json", ModeSafe, "application/json; charset=utf-8", transferJSON},
		{".xml", ModeCompatible, "application/xml; charset=utf-8", transferXML},
	}
	for _, tc := range cases {
		for entry, answer := range replyEntryPoints {
			t.Run(tc.mode.String()+tc.ext+"/"+entry, func(t *testing.T) {
				r := newReceiver(t, tc.mode != ModePlaintext, hostileNow, nil)
				q, body := textPush(t, r, tc.ext, tc.mode)
				status, contentType, out := answer(r, q, body)
				require.Equal(t, http.StatusOK, status)
				assert.Equal(t, tc.contentType, contentType)
				checkTransfer(t, r, q, tc.ext, tc.mode, tc.want, out)
			})
		}
	}
}

// checkTransfer checks the answer out to the push of query q: want itself
// in plaintext mode, want encrypted and signed otherwise.
func checkTransfer(t *testing.T, r *Receiver, q url.Values, ext string, mode Mode, want string, out []byte) {
	t.Helper()
	if mode == ModePlaintext {
		assert.Equal(t, want, string(out))
		return
	}
	var env replyEnvelope
	if ext == ".xml" {
		require.NoError(t, xml.Unmarshal(out, &env))
	} else {
		require.NoError(t, json.Unmarshal(out, &env))
	}
	assert.Equal(t, int64(hostileNow), env.TimeStamp)
	assert.Equal(t, q.Get("nonce"), env.Nonce, "the reply echoes the request's nonce")
	assert.Equal(t, wxcrypto.Signature(vecToken, strconv.FormatInt(env.TimeStamp, 10), env.Nonce, env.Encrypt), env.MsgSignature)
	plain, err := decryptString(r, env.Encrypt)
	require.NoError(t, err)
	assert.Equal(t, want, string(plain))
}

func TestEncodeReplyErrors(t *testing.T) {
	keyed := newReceiver(t, true, hostileNow, nil)
	plain := newReceiver(t, false, hostileNow, nil)
	reply := &Reply{toUser: "o", fromUser: "gh", msgType: transferMsgType}

	out, contentType, err := keyed.EncodeReply(nil, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "success", string(out))
	assert.Equal(t, "text/plain; charset=utf-8", contentType)

	_, _, err = plain.EncodeReply(nil, []byte("not a push"), reply)
	require.ErrorIs(t, err, ErrUnknownFormat)
	_, _, err = keyed.EncodeReply(url.Values{}, []byte("{}"), reply)
	require.ErrorIs(t, err, ErrInvalidSignature, "no nonce to echo")
	_, _, err = keyed.EncodeReply(url.Values{"nonce": {"1", "2"}}, []byte("{}"), reply)
	require.ErrorIs(t, err, ErrInvalidSignature, "two nonces")
	_, _, err = keyed.EncodeReply(url.Values{"nonce": {"1\x00"}}, []byte("{}"), reply)
	require.ErrorIs(t, err, ErrInvalidMessage, "a nonce the envelope cannot carry")
	assert.EqualError(t, err, "csmsg: message cannot be marshalled: bad envelope: Nonce holds a control character, a non-character or invalid UTF-8")
	_, _, err = plain.EncodeReply(nil, []byte("<xml/>"), &Reply{toUser: "\x00", msgType: transferMsgType})
	require.ErrorIs(t, err, ErrInvalidMessage, "a character XML cannot carry")

	out, contentType, err = plain.EncodeReply(nil, []byte(" {}"), reply)
	require.NoError(t, err)
	assert.Equal(t, "application/json; charset=utf-8", contentType)
	assert.Equal(t, `{"ToUserName":"o","FromUserName":"gh","CreateTime":1714112445,"MsgType":"transfer_customer_service"}`, string(out))
}

func TestTransfer(t *testing.T) {
	text := &Text{Header: Header{ToUserName: "gh", FromUserName: "o", CreateTime: 1, MsgType: "text"}}
	assert.Equal(t, &Reply{toUser: "o", fromUser: "gh", msgType: "transfer_customer_service"}, Transfer(text))
	voice := &Unknown{Header: Header{ToUserName: "gh", FromUserName: "o", MsgType: "voice"}}
	assert.Equal(t, &Reply{toUser: "o", fromUser: "gh", msgType: "transfer_customer_service"}, Transfer(voice))

	assert.Nil(t, Transfer(&UserEnterTempSession{Header: Header{MsgType: "event"}, Event: EventUserEnterTempSession}))
	assert.Nil(t, Transfer(&Unknown{Header: Header{MsgType: "event"}, Event: "debug_demo"}))
	assert.Nil(t, Transfer(nil))
	assert.Nil(t, Transfer((*Text)(nil)))
	assert.Nil(t, Transfer((*Unknown)(nil)))
}
