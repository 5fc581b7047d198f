package csmsgtest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
)

const (
	pushToken = "AAAAA"
	pushAppID = "wxba5fad812f8e6fb9"
)

var (
	aesKey = strings.Repeat("A", 43)
	now    = func() time.Time { return time.Unix(1714112445, 0) }
)

// configs are a receiver's two kinds of Config: plaintext mode, and
// compatible and safe mode.
var configs = map[string]csmsg.Config{
	"keyless": {Token: pushToken, Now: now},
	"keyed":   {Token: pushToken, EncodingAESKey: aesKey, AppID: pushAppID, Now: now},
}

// messages are one of each typed kind and an unknown one.
var messages = []csmsg.Message{
	&csmsg.Text{Header: header("text"), MsgID: "6054768590064713728", Content: "你好 <b>&amp;</b> ]]>"},
	&csmsg.Image{Header: header("image"), MsgID: "1", PicURL: "http://example.com/a?b=1&c=2", MediaID: "m"},
	&csmsg.MiniProgramPage{Header: header("miniprogrampage"), MsgID: "2", Title: "t", AppID: "wx1", PagePath: "pages/a?b=1",
		ThumbURL: "http://example.com/t", ThumbMediaID: "tm"},
	&csmsg.UserEnterTempSession{Header: header("event"), Event: csmsg.EventUserEnterTempSession, SessionFrom: `{"a":"b"}`},
}

func header(msgType string) csmsg.Header {
	return csmsg.Header{ToUserName: "gh_97417a04a28d", FromUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", CreateTime: 1714112440, MsgType: msgType}
}

// accepts reports whether cfg's receiver takes mode.
func accepts(cfg csmsg.Config, mode csmsgtest.Mode) bool {
	return (cfg.EncodingAESKey == "") == (mode == csmsgtest.ModePlaintext)
}

// TestSignPromise checks the package's promise: every push Sign builds for a
// Config, a Receiver with that Config accepts and parses to the message,
// through Parse, ParseRequest and the Handler; every mode the Config would
// refuse is an error from Sign.
func TestSignPromise(t *testing.T) {
	for cname, cfg := range configs {
		for _, mode := range csmsgtest.Modes() {
			for _, f := range []csmsg.Format{csmsg.FormatXML, csmsg.FormatJSON} {
				for _, msg := range messages {
					name := cname + "/" + mode.String() + "/" + f.String() + "/" + msg.MsgHeader().MsgType
					t.Run(name, func(t *testing.T) {
						r, err := csmsg.NewReceiver(cfg) // a dedup store of its own
						require.NoError(t, err)
						p, err := csmsgtest.SignMessage(cfg, mode, msg, f)
						if !accepts(cfg, mode) {
							require.ErrorIs(t, err, csmsg.ErrInvalidConfig)
							return
						}
						require.NoError(t, err)
						got, err := r.Parse(p.Query, p.Body)
						require.NoError(t, err)
						assert.Equal(t, msg, got)

						req, err := csmsgtest.NewRequest("/wechat", cfg, mode, msg, f)
						require.NoError(t, err)
						got, err = r.ParseRequest(req)
						require.NoError(t, err)
						assert.Equal(t, msg, got)

						req, err = p.Request("/wechat?x=1")
						require.NoError(t, err)
						var handled csmsg.Message
						w := httptest.NewRecorder()
						r.Handler(func(_ context.Context, m csmsg.Message) (*csmsg.Reply, error) {
							handled = m
							return nil, nil
						}).ServeHTTP(w, req)
						assert.Equal(t, http.StatusOK, w.Code)
						assert.Equal(t, "success", w.Body.String())
						assert.Equal(t, msg, handled)
					})
				}
			}
		}
	}
}

func TestSignErrors(t *testing.T) {
	keyed := configs["keyed"]
	_, err := csmsgtest.Sign(keyed, csmsgtest.ModeSafe, []byte("not a push"))
	require.ErrorIs(t, err, csmsg.ErrUnknownFormat)
	_, err = csmsgtest.Sign(keyed, csmsgtest.Mode(3), []byte(`{}`))
	require.ErrorIs(t, err, csmsg.ErrInvalidConfig)
	assert.Equal(t, "Mode(3)", csmsgtest.Mode(3).String())
	_, err = csmsgtest.Sign(csmsg.Config{}, csmsgtest.ModePlaintext, []byte(`{}`))
	require.ErrorIs(t, err, csmsg.ErrInvalidConfig, "no Token")

	// An empty object still gets a well-formed compatible body.
	p, err := csmsgtest.Sign(keyed, csmsgtest.ModeCompatible, []byte(`{}`))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(p.Body), `{"Encrypt":"`), string(p.Body))
	r, err := csmsg.NewReceiver(keyed)
	require.NoError(t, err)
	_, err = r.Parse(p.Query, p.Body)
	require.ErrorIs(t, err, csmsg.ErrMalformed, "decrypts to {}: no MsgType")

	// Random bytes that run out.
	broken := configs["keyless"]
	broken.Rand = strings.NewReader("")
	_, err = csmsgtest.Sign(broken, csmsgtest.ModePlaintext, []byte(`{}`))
	require.ErrorIs(t, err, io.EOF)
	_, err = csmsgtest.VerifyURL(broken, "x")
	require.ErrorIs(t, err, io.EOF)

	// A compatible-mode body is the envelope: a receiver takes only the
	// flat layout WeChat sends, and Sign refuses the rest.
	for _, body := range []string{
		`<?xml version="1.0"?><xml><MsgType>text</MsgType></xml>`,
		`<xml><!-- c --><MsgType>text</MsgType></xml>`,
		`<xml><Foo a="1"/><MsgType>text</MsgType></xml>`,
		`{"\u004dsgType":"text"}`,
	} {
		_, err = csmsgtest.Sign(keyed, csmsgtest.ModeCompatible, []byte(body))
		require.ErrorIs(t, err, csmsg.ErrMalformed, body)
		_, err = csmsgtest.Sign(keyed, csmsgtest.ModeSafe, []byte(body))
		require.NoError(t, err, "safe mode wraps any body: %s", body)
	}

	_, err = (&csmsgtest.Push{}).Request("%zz")
	require.Error(t, err)
	_, err = csmsgtest.NewRequest("/", keyed, csmsgtest.ModeSafe, nil, csmsg.FormatXML)
	require.ErrorIs(t, err, csmsg.ErrInvalidMessage)
}

func TestVerifyURL(t *testing.T) {
	for cname, cfg := range configs {
		q, err := csmsgtest.VerifyURL(cfg, "echo 123")
		require.NoError(t, err, cname)
		r, err := csmsg.NewReceiver(cfg)
		require.NoError(t, err)
		echo, err := r.VerifyURL(q)
		require.NoError(t, err, cname)
		assert.Equal(t, "echo 123", echo)
	}
	_, err := csmsgtest.VerifyURL(csmsg.Config{}, "x")
	require.ErrorIs(t, err, csmsg.ErrInvalidConfig)
}

// TestReplyInEveryMode checks EncodeReply through a push built here: the
// Handler's answer and EncodeReply's are the same bytes.
func TestReplyInEveryMode(t *testing.T) {
	for cname, cfg := range configs {
		cfg.Rand = zeros{}
		for _, mode := range csmsgtest.Modes() {
			if !accepts(cfg, mode) {
				continue
			}
			for _, f := range []csmsg.Format{csmsg.FormatXML, csmsg.FormatJSON} {
				t.Run(cname+"/"+mode.String()+"/"+f.String(), func(t *testing.T) {
					r, err := csmsg.NewReceiver(cfg)
					require.NoError(t, err)
					p, err := csmsgtest.SignMessage(cfg, mode, messages[0], f)
					require.NoError(t, err)
					req, err := p.Request("/wechat")
					require.NoError(t, err)
					w := httptest.NewRecorder()
					r.Handler(func(_ context.Context, m csmsg.Message) (*csmsg.Reply, error) {
						return csmsg.Transfer(m), nil
					}).ServeHTTP(w, req)
					require.Equal(t, http.StatusOK, w.Code)

					out, contentType, err := r.EncodeReply(p.Query, p.Body, csmsg.Transfer(messages[0]))
					require.NoError(t, err)
					assert.Equal(t, string(out), w.Body.String())
					assert.Equal(t, contentType, w.Header().Get("Content-Type"))
				})
			}
		}
	}
}

// zeros reads as endless zero bytes, so that two receivers encrypt alike.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestRequestOverTheNetwork: a request to an absolute URL goes through an
// http.Client to a real server, which accepts it.
func TestRequestOverTheNetwork(t *testing.T) {
	cfg := configs["keyed"]
	cfg.Now = nil // the server's clock is the real one
	r, err := csmsg.NewReceiver(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(r.Handler(nil))
	defer srv.Close()
	req, err := csmsgtest.NewRequest(srv.URL+"/wechat", cfg, csmsgtest.ModeSafe, messages[0], csmsg.FormatXML)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "success", string(body))
}

// TestSignSize: a push whose signed body is over the Config's MaxBodyBytes
// is csmsg.ErrBodyTooLarge from Sign, SignMessage and NewRequest, never a
// push the receiver refuses; at the limit exactly, the receiver accepts it.
func TestSignSize(t *testing.T) {
	for cname, cfg := range configs {
		cfg.Rand = zeros{} // the same nonce and ciphertext every time: the same size
		for _, mode := range csmsgtest.Modes() {
			if !accepts(cfg, mode) {
				continue
			}
			for _, f := range []csmsg.Format{csmsg.FormatXML, csmsg.FormatJSON} {
				t.Run(cname+"/"+mode.String()+"/"+f.String(), func(t *testing.T) {
					msg := &csmsg.Text{Header: header("text"), MsgID: "1", Content: strings.Repeat("长", 1000)}
					body, err := csmsg.Marshal(msg, f)
					require.NoError(t, err)
					p, err := csmsgtest.Sign(cfg, mode, body)
					require.NoError(t, err)
					size := len(p.Body)

					at := cfg
					at.MaxBodyBytes = int64(size)
					p, err = csmsgtest.SignMessage(at, mode, msg, f)
					require.NoError(t, err)
					r, err := csmsg.NewReceiver(at)
					require.NoError(t, err)
					got, err := r.Parse(p.Query, p.Body)
					require.NoError(t, err)
					assert.Equal(t, msg, got)

					over := cfg
					over.MaxBodyBytes = int64(size - 1)
					want := fmt.Sprintf("csmsg: body too large: csmsgtest: the %v-mode push of a %d-byte body is %d bytes, more than MaxBodyBytes (%d)",
						mode, len(body), size, size-1)
					p, err = csmsgtest.Sign(over, mode, body)
					assert.Nil(t, p)
					require.ErrorIs(t, err, csmsg.ErrBodyTooLarge)
					assert.EqualError(t, err, want)
					_, err = csmsgtest.SignMessage(over, mode, msg, f)
					assert.EqualError(t, err, want)
					_, err = csmsgtest.NewRequest("/wechat", over, mode, msg, f)
					assert.EqualError(t, err, want)
				})
			}
		}
	}
}

// TestSignSizeDefault: MaxBodyBytes 0 is csmsg.DefaultMaxBodyBytes. A
// 500 KB body fits in safe mode (about 1.3 times larger), not in compatible
// mode (about 2.3 times), which says so rather than blaming the layout.
func TestSignSizeDefault(t *testing.T) {
	cfg := configs["keyed"]
	cfg.Rand = zeros{}
	body := []byte(`{"ToUserName":"gh","FromUserName":"o","CreateTime":1,"MsgType":"text","Content":"` + strings.Repeat("x", 500000) + `"}`)
	p, err := csmsgtest.Sign(cfg, csmsgtest.ModeSafe, body)
	require.NoError(t, err)
	r, err := csmsg.NewReceiver(cfg)
	require.NoError(t, err)
	_, err = r.Parse(p.Query, p.Body)
	require.NoError(t, err)

	_, err = csmsgtest.Sign(cfg, csmsgtest.ModeCompatible, body)
	require.ErrorIs(t, err, csmsg.ErrBodyTooLarge)
	assert.EqualError(t, err, "csmsg: body too large: csmsgtest: the compatible-mode push of a 500083-byte body is 1166936 bytes, more than MaxBodyBytes (1048576)")
}

// TestSignCompatibleCause: a compatible-mode body the receiver cannot read
// before verifying is refused for its layout, with the receiver's own
// error beneath.
func TestSignCompatibleCause(t *testing.T) {
	_, err := csmsgtest.Sign(configs["keyed"], csmsgtest.ModeCompatible, []byte(`<xml><!-- c --><MsgType>text</MsgType></xml>`))
	require.ErrorIs(t, err, csmsg.ErrMalformed)
	assert.EqualError(t, err, "csmsg: malformed body: not the flat xml envelope WeChat sends: csmsgtest: compatible mode needs a flat body, as WeChat sends (no prolog, comments, attributes or deep nesting)")
}
