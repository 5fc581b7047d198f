package csmsgtest_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
)

// TestOpenAnswer runs OpenAnswer on an answer of each kind, good and bad,
// to a push in each format and mode, and checks the exact result.
func TestOpenAnswer(t *testing.T) {
	text := messages[0]
	event := messages[3]
	otherToken := configs["keyed"]
	otherToken.Token = "BBBBB"
	otherAppID := configs["keyed"]
	otherAppID.AppID = "wx0000000000000000"
	otherKey := configs["keyed"]
	otherKey.EncodingAESKey = strings.Repeat("B", 43)

	// An answerFunc builds the body of an answer to push p of msg, at a
	// receiver of cfg.
	type answerFunc func(t *testing.T, cfg csmsg.Config, p *csmsgtest.Push, msg csmsg.Message) []byte
	body := func(s string) answerFunc {
		return func(*testing.T, csmsg.Config, *csmsgtest.Push, csmsg.Message) []byte { return []byte(s) }
	}
	// library returns what a Receiver of cfg answers with reply.
	library := func(with func(cfg *csmsg.Config), reply func(csmsg.Message) *csmsg.Reply) answerFunc {
		return func(t *testing.T, cfg csmsg.Config, p *csmsgtest.Push, msg csmsg.Message) []byte {
			if with != nil {
				with(&cfg)
			}
			r, err := csmsg.NewReceiver(cfg)
			require.NoError(t, err)
			out, _, err := r.EncodeReply(p.Query, p.Body, reply(msg))
			require.NoError(t, err)
			return out
		}
	}
	// plainReply is a plaintext reply in the push's format; empty users
	// are the right ones.
	plainReply := func(toUser, fromUser, msgType string, createTime int64) answerFunc {
		return func(t *testing.T, _ csmsg.Config, p *csmsgtest.Push, msg csmsg.Message) []byte {
			h := csmsg.Header{ToUserName: toUser, FromUserName: fromUser, CreateTime: createTime, MsgType: msgType}
			if toUser == "" {
				h.ToUserName = msg.MsgHeader().FromUserName
			}
			if fromUser == "" {
				h.FromUserName = msg.MsgHeader().ToUserName
			}
			ct := strconv.FormatInt(h.CreateTime, 10)
			if bytes.HasPrefix(p.Body, []byte("{")) {
				return []byte(`{"ToUserName":"` + h.ToUserName + `","FromUserName":"` + h.FromUserName + `","CreateTime":` + ct + `,"MsgType":"` + h.MsgType + `"}`)
			}
			return []byte(`<xml><ToUserName>` + h.ToUserName + `</ToUserName><FromUserName>` + h.FromUserName + `</FromUserName><CreateTime>` + ct + `</CreateTime><MsgType>` + h.MsgType + `</MsgType></xml>`)
		}
	}
	transfer := func(m csmsg.Message) *csmsg.Reply { return csmsg.Transfer(m) }
	forcedTransfer := func(m csmsg.Message) *csmsg.Reply { // a transfer even of an event
		h := *m.MsgHeader()
		h.MsgType = csmsg.MsgTypeText
		return csmsg.Transfer(&csmsg.Text{Header: h})
	}
	edit := func(a answerFunc, from, to string) answerFunc {
		return func(t *testing.T, cfg csmsg.Config, p *csmsgtest.Push, msg csmsg.Message) []byte {
			return bytes.Replace(a(t, cfg, p, msg), []byte(from), []byte(to), 1)
		}
	}

	cases := []struct {
		name     string
		transfer bool // the reply is csmsg.Transfer(msg), not nil
		keyed    bool // the push is encrypted (safe mode), or plaintext
		json     bool
		msg      csmsg.Message
		status   int
		answer   answerFunc
		err      error  // nil: the answer is "success" or csmsg.Transfer(msg)
		text     string // the error's text
	}{
		{"success", false, false, false, text, 200, body("success"), nil, ""},
		{"success with white space", false, true, true, text, 200, body(" success\n"), nil, ""},
		{"empty", false, true, false, event, 200, body(""), nil, ""},
		{"transfer, plaintext XML", true, false, false, text, 200, library(nil, transfer), nil, ""},
		{"transfer, plaintext JSON", true, false, true, text, 200, library(nil, transfer), nil, ""},
		{"transfer, safe XML", true, true, false, text, 200, library(nil, transfer), nil, ""},
		{"transfer, safe JSON", true, true, true, text, 200, library(nil, transfer), nil, ""},
		{"status 500", false, false, false, text, 500, body("success"), csmsgtest.ErrAnswerStatus,
			"csmsgtest: answer refused: status 500 Internal Server Error, not 200"},
		{"neither", false, false, false, text, 200, body("ok"), csmsgtest.ErrAnswerBody,
			`csmsgtest: answer is neither "success", empty, nor a passive reply: starts with "ok"`},
		{"wrong format", false, false, false, text, 200, body(`{"MsgType":"transfer_customer_service"}`), csmsgtest.ErrReplyFormat,
			"csmsgtest: passive reply in the wrong format: passive reply in json, but the push was xml"},
		{"plaintext reply to a safe push", false, true, true, text, 200, plainReply("", "", "transfer_customer_service", 1), csmsgtest.ErrReplyEncryption,
			"csmsgtest: passive reply encrypted unlike the push: passive reply is not encrypted, but the push was"},
		{"encrypted reply to a plaintext push", false, false, true, text, 200, body(`{"ToUserName":"gh","Encrypt":"x"}`), csmsgtest.ErrReplyEncryption,
			"csmsgtest: passive reply encrypted unlike the push: passive reply is encrypted, but the push was plaintext"},
		{"envelope that does not read", false, true, true, text, 200, body(`{"Encrypt":1}`), csmsg.ErrMalformed,
			"csmsg: malformed body: csmsgtest: encrypted reply: bad envelope: not a JSON envelope: json: cannot unmarshal number into Go struct field .Encrypt of type string"},
		{"envelope without a Nonce", false, true, true, text, 200, edit(library(nil, transfer), `"Nonce":`, `"Other":`), csmsg.ErrMalformed,
			"csmsg: malformed body: csmsgtest: encrypted reply: bad envelope: an encrypted reply needs Encrypt, MsgSignature, TimeStamp and Nonce"},
		{"bad signature", false, true, true, text, 200, edit(library(nil, transfer), `"MsgSignature":"`, `"MsgSignature":"0`), csmsg.ErrInvalidSignature,
			"csmsg: invalid signature: csmsgtest: encrypted reply: MsgSignature does not match sha1(sort(Token, TimeStamp, Nonce, Encrypt))"},
		{"signed with another token", false, true, false, text, 200, library(func(c *csmsg.Config) { c.Token = otherToken.Token }, transfer), csmsg.ErrInvalidSignature,
			"csmsg: invalid signature: csmsgtest: encrypted reply: MsgSignature does not match sha1(sort(Token, TimeStamp, Nonce, Encrypt))"},
		{"another key", false, true, false, text, 200, library(func(c *csmsg.Config) { c.EncodingAESKey = otherKey.EncodingAESKey }, transfer), csmsg.ErrDecrypt,
			"csmsg: cannot decrypt: csmsgtest: encrypted reply: bad padding"},
		{"another appid", false, true, true, text, 200, library(func(c *csmsg.Config) { c.AppID = otherAppID.AppID }, transfer), csmsg.ErrAppIDMismatch,
			"csmsg: appid mismatch: csmsgtest: encrypted reply"},
		{"reply that does not parse", false, false, false, text, 200, body(`<xml><MsgType>`), csmsg.ErrMalformed,
			"csmsgtest: passive reply: csmsg: malformed body: XML syntax error on line 1: unexpected EOF"},
		{"wrong MsgType", false, false, true, text, 200, plainReply("", "", "text", 1), csmsgtest.ErrReplyType,
			`csmsgtest: passive reply of the wrong MsgType: passive reply of MsgType "text": a mini program can only answer transfer_customer_service`},
		{"transfer of an event", false, true, false, event, 200, library(nil, forcedTransfer), csmsgtest.ErrReplyNotAllowed,
			"csmsgtest: passive reply to a push that takes none: passive reply transfer_customer_service to an event: only a user's message can be transferred"},
		{"wrong user", false, false, true, text, 200, plainReply("oSomeoneElse", "", "transfer_customer_service", 1), csmsgtest.ErrReplyAddress,
			`csmsgtest: passive reply wrongly addressed: passive reply addressed to "oSomeoneElse", not to the user "o9AgO5Kd5ggOC-bXrbNODIiE3bGY" (ToUserName must be the sender's openid)`},
		{"wrong mini program", false, false, false, text, 200, plainReply("", "gh_other", "transfer_customer_service", 1), csmsgtest.ErrReplyAddress,
			`csmsgtest: passive reply wrongly addressed: passive reply from "gh_other", not from the mini program "gh_97417a04a28d" (FromUserName must be the push's ToUserName)`},
		{"no CreateTime", false, false, true, text, 200, plainReply("", "", "transfer_customer_service", 0), csmsg.ErrMalformed,
			"csmsg: malformed body: csmsgtest: passive reply without a CreateTime"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, mode := configs["keyless"], csmsgtest.ModePlaintext
			if tc.keyed {
				cfg, mode = configs["keyed"], csmsgtest.ModeSafe
			}
			f := csmsg.FormatXML
			if tc.json {
				f = csmsg.FormatJSON
			}
			p, err := csmsgtest.SignMessage(cfg, mode, tc.msg, f)
			require.NoError(t, err)
			reply, err := csmsgtest.OpenAnswer(cfg, p, tc.status, tc.answer(t, cfg, p, tc.msg))
			if tc.err != nil {
				assert.Nil(t, reply)
				require.ErrorIs(t, err, tc.err)
				assert.EqualError(t, err, tc.text)
				return
			}
			require.NoError(t, err)
			if tc.transfer {
				assert.Equal(t, csmsg.Transfer(tc.msg), reply)
			} else {
				assert.Nil(t, reply)
			}
		})
	}
}

// TestOpenAnswerPushes: a reply to a push that is not a message, and a
// Config that cannot read the push.
func TestOpenAnswerPushes(t *testing.T) {
	cfg := configs["keyless"]
	p, err := csmsgtest.Sign(cfg, csmsgtest.ModePlaintext, []byte(`<xml><Foo>1</Foo></xml>`))
	require.NoError(t, err)
	reply := []byte(`<xml><ToUserName>o</ToUserName><FromUserName>gh</FromUserName><CreateTime>1</CreateTime><MsgType>transfer_customer_service</MsgType></xml>`)
	_, err = csmsgtest.OpenAnswer(cfg, p, http.StatusOK, reply)
	require.ErrorIs(t, err, csmsgtest.ErrReplyNotAllowed)
	assert.EqualError(t, err, "csmsgtest: passive reply to a push that takes none: passive reply to a push that is not a message")

	encrypted := &csmsgtest.Push{Query: url.Values{"encrypt_type": {"aes"}}, Body: []byte(`<xml/>`)}
	_, err = csmsgtest.OpenAnswer(cfg, encrypted, http.StatusOK, reply)
	require.ErrorIs(t, err, csmsg.ErrInvalidConfig)
	assert.EqualError(t, err, "csmsg: invalid config: csmsgtest: the push is encrypted and the Config has no EncodingAESKey")
}
