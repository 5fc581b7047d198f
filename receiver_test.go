package csmsg

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/csmsg/csmsg/internal/wxcrypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The requests of WeChat's worked example: the URL verification, the
// plaintext debug_demo push, and the same push in safe mode with the
// payload it decrypts to.
const (
	vecVerifyQuery = "signature=f464b24fc39322e44b38aa78f5edd27bd1441696&echostr=4375120948345356249&timestamp=1714036504&nonce=1514711492"
	vecPlainQuery  = "signature=899cf89e464efb63f54ddac96b0a0a235f53aa78&timestamp=1714037059&nonce=486452656"
	vecPlainBody   = `{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714037059,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}`
	vecSafeQuery   = "signature=6c5c811b55cc85e0e1b54100749188c20beb3f5d&timestamp=1714112445&nonce=415670741&openid=o9AgO5Kd5ggOC-bXrbNODIiE3bGY&encrypt_type=aes&msg_signature=046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
	vecSafeBody    = `{"ToUserName":"gh_97417a04a28d","Encrypt":"` + encrypt + `"}`
	vecSafePlain   = `{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}`
)

func mustQuery(t testing.TB, raw string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(raw)
	require.NoError(t, err)
	return q
}

func TestVectorVerifyURL(t *testing.T) {
	r := newReceiver(t, true, 1714036504, nil)
	q := mustQuery(t, vecVerifyQuery)
	echostr, err := r.VerifyURL(q)
	require.NoError(t, err)
	assert.Equal(t, "4375120948345356249", echostr)

	w := serve(r.Handler(nil), http.MethodGet, q, nil)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "4375120948345356249", w.Body.String())
	assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
}

func TestVectorPush(t *testing.T) {
	cases := []struct {
		name  string
		keyed bool
		now   int64
		query string
		body  string
		raw   string // the message inside
	}{
		{"plaintext", false, 1714037059, vecPlainQuery, vecPlainBody, vecPlainBody},
		{"safe", true, 1714112445, vecSafeQuery, vecSafeBody, vecSafePlain},
	}
	for _, tc := range cases {
		want := &Unknown{
			Header: Header{ToUserName: ghID, FromUserName: openID, CreateTime: tc.now, MsgType: "event"},
			Event:  "debug_demo", Format: FormatJSON, Raw: []byte(tc.raw),
		}
		r := newReceiver(t, tc.keyed, tc.now, nil)
		q := mustQuery(t, tc.query)
		for entry, parse := range receiverEntryPoints {
			t.Run(tc.name+"/"+entry, func(t *testing.T) {
				got, err := parse(r, q, []byte(tc.body))
				require.NoError(t, err)
				assert.Equal(t, want, got)
			})
		}
		t.Run(tc.name+"/Handler", func(t *testing.T) {
			var got Message
			w := serve(r.Handler(func(_ context.Context, m Message) (*Reply, error) {
				got = m
				return Transfer(m), nil // an event: nil, so "success"
			}), http.MethodPost, q, []byte(tc.body))
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "success", w.Body.String())
			assert.Equal(t, want, got)
		})
	}
}

// fixture is one push in testdata/receiver/fixtures.json, made by csmsgtest.Sign
// with the vector's Token and key, a clock stopped at 1714112445 and
// counting random bytes.
type fixture struct {
	Name  string `json:"name"` // the testdata body it carries
	Mode  string `json:"mode"` // a Mode's String
	Query string `json:"query"`
	Body  string `json:"body"`
}

const fixtureTime = 1714112445

var fixtureNames = []string{"text.xml", "text.json", "image.xml", "image.json", "miniprogrampage.xml", "miniprogrampage.json",
	"user_enter_tempsession.xml", "user_enter_tempsession.json", "user_enter_tempsession_json_from.json", "debug_demo.xml", "debug_demo.json", "subscribe_msg_popup_event.xml"}

// makeFixtures signs every fixture body in every mode.
func makeFixtures(t testing.TB) []fixture {
	var out []fixture
	for _, mode := range []Mode{ModePlaintext, ModeCompatible, ModeSafe} {
		r := newReceiver(t, mode != ModePlaintext, fixtureTime, nil)
		for _, name := range fixtureNames {
			body, err := os.ReadFile(filepath.Join("testdata", name))
			require.NoError(t, err)
			q, signed, err := signPush(r, body, mode)
			require.NoError(t, err)
			out = append(out, fixture{Name: name, Mode: mode.String(), Query: q.Encode(), Body: string(signed)})
		}
	}
	return out
}

func loadFixtures(t testing.TB) []fixture {
	data, err := os.ReadFile(filepath.Join("testdata", "receiver", "fixtures.json"))
	require.NoError(t, err)
	var fx []fixture
	require.NoError(t, json.Unmarshal(data, &fx))
	return fx
}

// wantFor returns what the golden case of a testdata file says it parses to.
func wantFor(t testing.TB, name string) Message {
	body, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	for _, tc := range goldenCases {
		if tc.name == name || tc.name+filepath.Ext(name) == name {
			return expect(tc.want, formatOf(filepath.Ext(name)), body)
		}
	}
	t.Fatalf("no golden case for %s", name)
	return nil
}

func TestReceiverFixtures(t *testing.T) {
	made := makeFixtures(t)
	if *update {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		require.NoError(t, enc.Encode(made))
		require.NoError(t, os.MkdirAll(filepath.Join("testdata", "receiver"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join("testdata", "receiver", "fixtures.json"), buf.Bytes(), 0o644))
	}
	fixtures := loadFixtures(t)
	require.Equal(t, made, fixtures, "csmsgtest.Sign no longer reproduces testdata/receiver/fixtures.json")

	for _, fx := range fixtures {
		want := wantFor(t, fx.Name)
		q := mustQuery(t, fx.Query)
		// A keyed receiver takes compatible and safe pushes; a keyless one
		// takes plaintext pushes, and compatible ones by their plaintext fields.
		receivers := map[string]*Receiver{}
		if fx.Mode != ModeSafe.String() {
			receivers["keyless"] = newReceiver(t, false, fixtureTime, nil)
		}
		if fx.Mode != ModePlaintext.String() {
			receivers["keyed"] = newReceiver(t, true, fixtureTime, nil)
		}
		for rname, r := range receivers {
			name := fx.Mode + "/" + fx.Name + "/" + rname
			want := want
			if u, ok := want.(*Unknown); ok && rname == "keyless" {
				want = expect(u, u.Format, []byte(fx.Body)) // the body as it came, Encrypt and all
			}
			for entry, parse := range receiverEntryPoints {
				t.Run(name+"/"+entry, func(t *testing.T) {
					got, err := parse(r, q, []byte(fx.Body))
					require.NoError(t, err)
					assert.Equal(t, want, got)
				})
			}
			t.Run(name+"/Handler", func(t *testing.T) {
				var got Message
				w := serve(r.Handler(func(_ context.Context, m Message) (*Reply, error) {
					got = m
					return nil, nil
				}), http.MethodPost, q, []byte(fx.Body))
				assert.Equal(t, http.StatusOK, w.Code)
				assert.Equal(t, "success", w.Body.String())
				assert.Equal(t, want, got)
			})
		}
	}
}

// wantStatus is the status the Handler answers for each sentinel error.
var wantStatus = map[error]int{
	ErrBodyTooLarge:     http.StatusRequestEntityTooLarge,
	ErrInvalidSignature: http.StatusUnauthorized,
	ErrExpired:          http.StatusUnauthorized,
	ErrDecrypt:          http.StatusBadRequest,
	ErrAppIDMismatch:    http.StatusBadRequest,
	ErrMalformed:        http.StatusBadRequest,
	ErrUnknownFormat:    http.StatusBadRequest,
	ErrEncrypted:        http.StatusBadRequest,
}

// wantAnswer is the body the Handler answers for each sentinel error: one
// text for every failure after the signature (ErrDecrypt, ErrAppIDMismatch).
var wantAnswer = map[error]string{
	ErrBodyTooLarge:     "Request Entity Too Large: body too large\n",
	ErrInvalidSignature: "Unauthorized: invalid signature\n",
	ErrExpired:          "Unauthorized: timestamp outside the allowed window\n",
	ErrDecrypt:          "Bad Request: cannot decrypt\n",
	ErrAppIDMismatch:    "Bad Request: cannot decrypt\n",
	ErrMalformed:        "Bad Request: malformed body\n",
	ErrUnknownFormat:    "Bad Request: malformed body\n",
	ErrEncrypted:        "Bad Request: encrypted push, and the receiver has no EncodingAESKey\n",
}

const hostileNow = fixtureTime

// hostileCases are pushes a receiver must refuse, each with its sentinel.
var hostileCases = []struct {
	name  string
	keyed bool
	edit  func(*Config)
	req   func(t testing.TB) (url.Values, []byte)
	want  error
}{
	{"wrong signature", false, nil, func(t testing.TB) (url.Values, []byte) {
		q := plainQuery(hostileNow)
		q.Set("signature", strings.Repeat("0", 40))
		return q, []byte(vecPlainBody)
	}, ErrInvalidSignature},
	{"signature in upper case", false, nil, func(t testing.TB) (url.Values, []byte) {
		q := plainQuery(hostileNow)
		q.Set("signature", strings.ToUpper(q.Get("signature")))
		return q, []byte(vecPlainBody)
	}, ErrInvalidSignature},
	{"signature one character short", false, nil, func(t testing.TB) (url.Values, []byte) {
		q := plainQuery(hostileNow)
		q.Set("signature", q.Get("signature")[:39])
		return q, []byte(vecPlainBody)
	}, ErrInvalidSignature},
	{"missing signature", false, nil, func(t testing.TB) (url.Values, []byte) {
		q := plainQuery(hostileNow)
		q.Del("signature")
		return q, []byte(vecPlainBody)
	}, ErrInvalidSignature},
	{"repeated signature", false, nil, func(t testing.TB) (url.Values, []byte) {
		q := plainQuery(hostileNow)
		q.Add("signature", q.Get("signature"))
		return q, []byte(vecPlainBody)
	}, ErrInvalidSignature},
	{"missing timestamp", false, nil, func(t testing.TB) (url.Values, []byte) {
		q := plainQuery(hostileNow)
		q.Del("timestamp")
		return q, []byte(vecPlainBody)
	}, ErrInvalidSignature},
	{"timestamp not an integer", false, nil, func(t testing.TB) (url.Values, []byte) {
		ts := "1714112445.0"
		return url.Values{"signature": {wxcrypto.Signature(vecToken, ts, "1")}, "timestamp": {ts}, "nonce": {"1"}}, []byte(vecPlainBody)
	}, ErrInvalidSignature},
	{"missing nonce", false, nil, func(t testing.TB) (url.Values, []byte) {
		q := plainQuery(hostileNow)
		q.Del("nonce")
		return q, []byte(vecPlainBody)
	}, ErrInvalidSignature},
	{"empty nonce", false, nil, func(t testing.TB) (url.Values, []byte) {
		ts := "1714112445"
		return url.Values{"signature": {wxcrypto.Signature(vecToken, ts, "")}, "timestamp": {ts}, "nonce": {""}}, []byte(vecPlainBody)
	}, ErrInvalidSignature},
	{"signed for another token", false, nil, func(t testing.TB) (url.Values, []byte) {
		ts := "1714112445"
		return url.Values{"signature": {wxcrypto.Signature("BBBBB", ts, "1")}, "timestamp": {ts}, "nonce": {"1"}}, []byte(vecPlainBody)
	}, ErrInvalidSignature},
	{"timestamp 301 s behind", false, nil, func(t testing.TB) (url.Values, []byte) {
		return plainQuery(hostileNow - 301), []byte(vecPlainBody)
	}, ErrExpired},
	{"timestamp 301 s ahead", false, nil, func(t testing.TB) (url.Values, []byte) {
		return plainQuery(hostileNow + 301), []byte(vecPlainBody)
	}, ErrExpired},
	{"timestamp 11 s behind a 10 s tolerance", false, func(c *Config) { c.Tolerance = 10 * time.Second }, func(t testing.TB) (url.Values, []byte) {
		return plainQuery(hostileNow - 11), []byte(vecPlainBody)
	}, ErrExpired},
	{"timestamp far in the past", false, nil, func(t testing.TB) (url.Values, []byte) {
		return plainQuery(-1 << 62), []byte(vecPlainBody)
	}, ErrExpired},
	{"encrypted body at a plaintext receiver", false, nil, func(t testing.TB) (url.Values, []byte) {
		_, body := safeEnvelope(encrypt, hostileNow)
		return plainQuery(hostileNow), body
	}, ErrEncrypted},
	{"plaintext body that is not a push", false, nil, func(t testing.TB) (url.Values, []byte) {
		return plainQuery(hostileNow), []byte(`{"MsgType":`)
	}, ErrMalformed},
	{"plaintext body that is not XML or JSON", false, nil, func(t testing.TB) (url.Values, []byte) {
		return plainQuery(hostileNow), []byte(`MsgType=text`)
	}, ErrUnknownFormat},
	{"body one byte over the limit", false, func(c *Config) { c.MaxBodyBytes = int64(len(vecPlainBody)) - 1 }, func(t testing.TB) (url.Values, []byte) {
		return plainQuery(hostileNow), []byte(vecPlainBody)
	}, ErrBodyTooLarge},
	{"body over the default limit", false, nil, func(t testing.TB) (url.Values, []byte) {
		return plainQuery(hostileNow), append([]byte(vecPlainBody), bytes.Repeat([]byte(" "), DefaultMaxBodyBytes)...)
	}, ErrBodyTooLarge},

	{"keyed: plaintext push (downgrade)", true, nil, func(t testing.TB) (url.Values, []byte) {
		return plainQuery(hostileNow), []byte(vecPlainBody)
	}, ErrInvalidSignature},
	{"keyed: encrypt_type other than aes", true, nil, func(t testing.TB) (url.Values, []byte) {
		q, body := safeEnvelope(sealed(t, vecSafePlain, vecAppID), hostileNow)
		q.Set("encrypt_type", "raw")
		return q, body
	}, ErrInvalidSignature},
	{"keyed: missing msg_signature", true, nil, func(t testing.TB) (url.Values, []byte) {
		q, body := safeEnvelope(sealed(t, vecSafePlain, vecAppID), hostileNow)
		q.Del("msg_signature")
		return q, body
	}, ErrInvalidSignature},
	{"keyed: msg_signature over another Encrypt", true, nil, func(t testing.TB) (url.Values, []byte) {
		q, _ := safeEnvelope(sealed(t, vecSafePlain, vecAppID), hostileNow)
		_, body := safeEnvelope(encrypt, hostileNow)
		return q, body
	}, ErrInvalidSignature},
	{"keyed: signature checked, not msg_signature", true, nil, func(t testing.TB) (url.Values, []byte) {
		q, body := safeEnvelope(sealed(t, vecSafePlain, vecAppID), hostileNow)
		q.Set("msg_signature", q.Get("signature"))
		return q, body
	}, ErrInvalidSignature},
	{"keyed: timestamp 301 s behind", true, nil, func(t testing.TB) (url.Values, []byte) {
		return safeEnvelope(sealed(t, vecSafePlain, vecAppID), hostileNow-301)
	}, ErrExpired},
	{"keyed: timestamp 301 s ahead", true, nil, func(t testing.TB) (url.Values, []byte) {
		return safeEnvelope(sealed(t, vecSafePlain, vecAppID), hostileNow+301)
	}, ErrExpired},
	{"keyed: wrong appid", true, nil, func(t testing.TB) (url.Values, []byte) {
		return safeEnvelope(sealed(t, vecSafePlain, "wx0000000000000000"), hostileNow)
	}, ErrAppIDMismatch},
	{"keyed: no appid", true, nil, func(t testing.TB) (url.Values, []byte) {
		return safeEnvelope(sealed(t, vecSafePlain, ""), hostileNow)
	}, ErrAppIDMismatch},
	{"keyed: encrypted with another key", true, nil, func(t testing.TB) (url.Values, []byte) {
		p := payload(uint32(len(vecSafePlain)), vecSafePlain, vecAppID, nil)
		return safeEnvelope(sealRaw(t, strings.Repeat("B", 43), append(p, padTo32(len(p))...)), hostileNow)
	}, ErrDecrypt},
	{"keyed: pad byte 0", true, nil, func(t testing.TB) (url.Values, []byte) {
		p := payload(uint32(len(vecSafePlain)), vecSafePlain, vecAppID, nil)
		return safeEnvelope(sealRaw(t, vecKey, withBlocks(p, 0, 1)), hostileNow)
	}, ErrDecrypt},
	{"keyed: pad byte 33", true, nil, func(t testing.TB) (url.Values, []byte) {
		p := payload(uint32(len(vecSafePlain)), vecSafePlain, vecAppID, nil)
		return safeEnvelope(sealRaw(t, vecKey, withBlocks(p, 33, 33)), hostileNow)
	}, ErrDecrypt},
	{"keyed: inconsistent pad bytes", true, nil, func(t testing.TB) (url.Values, []byte) {
		p := payload(uint32(len(vecSafePlain)), vecSafePlain, vecAppID, nil)
		pad := padTo32(len(p))
		pad[0]++
		return safeEnvelope(sealRaw(t, vecKey, append(p, pad...)), hostileNow)
	}, ErrDecrypt},
	{"keyed: pad longer than the payload", true, nil, func(t testing.TB) (url.Values, []byte) {
		return safeEnvelope(sealRaw(t, vecKey, bytes.Repeat([]byte{32}, 16)), hostileNow)
	}, ErrDecrypt},
	{"keyed: payload shorter than its header", true, nil, func(t testing.TB) (url.Values, []byte) {
		return safeEnvelope(sealRaw(t, vecKey, bytes.Repeat([]byte{16}, 32)), hostileNow)
	}, ErrDecrypt},
	{"keyed: msg_len one past the end", true, nil, func(t testing.TB) (url.Values, []byte) {
		p := payload(uint32(len(vecSafePlain)+len(vecAppID)+1), vecSafePlain, vecAppID, nil)
		return safeEnvelope(sealRaw(t, vecKey, append(p, padTo32(len(p))...)), hostileNow)
	}, ErrDecrypt},
	{"keyed: msg_len 2^32-1", true, nil, func(t testing.TB) (url.Values, []byte) {
		p := payload(1<<32-1, vecSafePlain, vecAppID, nil)
		return safeEnvelope(sealRaw(t, vecKey, append(p, padTo32(len(p))...)), hostileNow)
	}, ErrDecrypt},
	{"keyed: ciphertext not whole blocks", true, nil, func(t testing.TB) (url.Values, []byte) {
		return safeEnvelope(base64.StdEncoding.EncodeToString(make([]byte, 33)), hostileNow)
	}, ErrDecrypt},
	{"keyed: Encrypt not base64", true, nil, func(t testing.TB) (url.Values, []byte) {
		return safeEnvelope("!!!!not-base64!!!!", hostileNow)
	}, ErrDecrypt},
	{"keyed: Encrypt without padding", true, nil, func(t testing.TB) (url.Values, []byte) {
		return safeEnvelope(strings.TrimRight(encrypt, "="), hostileNow)
	}, ErrDecrypt},
	{"keyed: empty Encrypt", true, nil, func(t testing.TB) (url.Values, []byte) {
		return safeEnvelope("", hostileNow)
	}, ErrDecrypt},
	{"keyed: no Encrypt", true, nil, func(t testing.TB) (url.Values, []byte) {
		q, _ := safeEnvelope("", hostileNow)
		return q, []byte(`{"ToUserName":"gh_97417a04a28d"}`)
	}, ErrDecrypt},
	{"keyed: Encrypt of the wrong type", true, nil, func(t testing.TB) (url.Values, []byte) {
		q, _ := safeEnvelope("", hostileNow)
		return q, []byte(`{"ToUserName":"gh_97417a04a28d","Encrypt":5}`)
	}, ErrMalformed},
	{"keyed: envelope not JSON", true, nil, func(t testing.TB) (url.Values, []byte) {
		q, _ := safeEnvelope("", hostileNow)
		return q, []byte(`{"Encrypt":"abc"`)
	}, ErrMalformed},
	{"keyed: decrypted payload not a push", true, nil, func(t testing.TB) (url.Values, []byte) {
		return safeEnvelope(sealed(t, "hello", vecAppID), hostileNow)
	}, ErrUnknownFormat},
	{"keyed: decrypted payload malformed", true, nil, func(t testing.TB) (url.Values, []byte) {
		return safeEnvelope(sealed(t, `<xml><MsgType>text</MsgType>`, vecAppID), hostileNow)
	}, ErrMalformed},
	{"keyed: decrypted payload another envelope", true, nil, func(t testing.TB) (url.Values, []byte) {
		return safeEnvelope(sealed(t, `{"Encrypt":"abc"}`, vecAppID), hostileNow)
	}, ErrEncrypted},
	{"keyed: body one byte over the limit", true, func(c *Config) { c.MaxBodyBytes = 100 }, func(t testing.TB) (url.Values, []byte) {
		q, body := safeEnvelope(sealed(t, vecSafePlain, vecAppID), hostileNow)
		return q, body[:101]
	}, ErrBodyTooLarge},
}

func TestReceiverHostile(t *testing.T) {
	for _, tc := range hostileCases {
		r := newReceiver(t, tc.keyed, hostileNow, tc.edit)
		q, body := tc.req(t)
		for entry, parse := range receiverEntryPoints {
			t.Run(tc.name+"/"+entry, func(t *testing.T) {
				m, err := parse(r, q, body)
				require.ErrorIs(t, err, tc.want)
				assert.Nil(t, m)
				assertNoSecrets(t, err.Error(), body)
			})
		}
		t.Run(tc.name+"/Handler", func(t *testing.T) {
			called := false
			w := serve(r.Handler(func(context.Context, Message) (*Reply, error) {
				called = true
				return nil, nil
			}), http.MethodPost, q, body)
			assert.Equal(t, wantStatus[tc.want], w.Code)
			want := wantAnswer[tc.want]
			if tc.name == "keyed: encrypt_type other than aes" || tc.name == "keyed: plaintext push (downgrade)" {
				want = "Unauthorized: the receiver accepts only encrypted pushes (encrypt_type=aes)\n"
			}
			if strings.HasPrefix(tc.name, "keyed: decrypted payload") {
				// After the signature, every failure answers one text:
				// no oracle on the ciphertext.
				want = wantAnswer[ErrDecrypt]
			}
			assert.Equal(t, want, w.Body.String(), "the answer names what the sender can see, no detail")
			assert.False(t, called)
		})
	}
}

func TestReceiverEncryptedWithoutKey(t *testing.T) {
	r := newReceiver(t, false, hostileNow, nil)
	_, body := safeEnvelope(encrypt, hostileNow)
	_, err := r.Parse(plainQuery(hostileNow), body)
	require.ErrorIs(t, err, ErrEncrypted)
	assert.Equal(t, "csmsg: body is encrypted: set Config.EncodingAESKey to receive compatible and safe mode pushes", err.Error())
}

// assertNoSecrets checks that an error or log text holds neither the Token,
// nor the key, nor the body.
func assertNoSecrets(t *testing.T, text string, body []byte) {
	t.Helper()
	assert.NotContains(t, text, vecKey)
	assert.NotContains(t, text, "AAAAA")
	if len(body) > 16 {
		assert.NotContains(t, text, string(body))
	}
	assert.Less(t, len(text), 200, "error text is long: %s", text)
}

// TestReceiverBoundaries checks what is just inside each limit.
func TestReceiverBoundaries(t *testing.T) {
	cases := []struct {
		name string
		now  int64 // the request's timestamp, against a clock at hostileNow
		edit func(*Config)
	}{
		{"timestamp 300 s behind", hostileNow - 300, nil},
		{"timestamp 299 s behind", hostileNow - 299, nil},
		{"timestamp 300 s ahead", hostileNow + 300, nil},
		{"timestamp 299 s ahead", hostileNow + 299, nil},
		{"timestamp 9 s behind a 10 s tolerance", hostileNow - 9, func(c *Config) { c.Tolerance = 10 * time.Second }},
		{"any timestamp with the check off", 1, func(c *Config) { c.Tolerance = -1 }},
		{"body exactly at the limit", hostileNow, func(c *Config) { c.MaxBodyBytes = int64(len(vecPlainBody)) }},
	}
	for _, tc := range cases {
		r := newReceiver(t, false, hostileNow, tc.edit)
		for entry, parse := range receiverEntryPoints {
			t.Run(tc.name+"/"+entry, func(t *testing.T) {
				m, err := parse(r, plainQuery(tc.now), []byte(vecPlainBody))
				require.NoError(t, err)
				assert.Equal(t, "debug_demo", m.(*Unknown).Event)
			})
		}
	}
}

func TestVerifyURLErrors(t *testing.T) {
	r := newReceiver(t, true, 1714036504, nil)
	good := mustQuery(t, vecVerifyQuery)
	cases := []struct {
		name string
		edit func(url.Values)
		want error
	}{
		{"wrong signature", func(q url.Values) { q.Set("signature", strings.Repeat("f", 40)) }, ErrInvalidSignature},
		{"missing signature", func(q url.Values) { q.Del("signature") }, ErrInvalidSignature},
		{"missing timestamp", func(q url.Values) { q.Del("timestamp") }, ErrInvalidSignature},
		{"other nonce", func(q url.Values) { q.Set("nonce", "1") }, ErrInvalidSignature},
		{"missing echostr", func(q url.Values) { q.Del("echostr") }, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{}
			for k, v := range good {
				q[k] = append([]string(nil), v...)
			}
			tc.edit(q)
			echostr, err := r.VerifyURL(q)
			require.ErrorIs(t, err, tc.want)
			assert.Empty(t, echostr)
			w := serve(r.Handler(nil), http.MethodGet, q, nil)
			assert.Equal(t, wantStatus[tc.want], w.Code)
		})
	}
	t.Run("stale", func(t *testing.T) {
		late := newReceiver(t, true, 1714036504+301, nil)
		_, err := late.VerifyURL(good)
		require.ErrorIs(t, err, ErrExpired)
		assert.Equal(t, http.StatusUnauthorized, serve(late.Handler(nil), http.MethodGet, good, nil).Code)
	})
}

func TestNewReceiverConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want error
	}{
		{"no token", Config{}, ErrInvalidConfig},
		{"key without AppID", Config{Token: "t", EncodingAESKey: vecKey}, ErrInvalidConfig},
		{"key of 42 characters", Config{Token: "t", EncodingAESKey: vecKey[:42], AppID: "wx"}, ErrInvalidConfig},
		{"key of 44 characters", Config{Token: "t", EncodingAESKey: vecKey + "A", AppID: "wx"}, ErrInvalidConfig},
		{"key not base64", Config{Token: "t", EncodingAESKey: "!" + vecKey[1:], AppID: "wx"}, ErrInvalidConfig},
		{"key with a newline", Config{Token: "t", EncodingAESKey: "\n" + vecKey[1:], AppID: "wx"}, ErrInvalidConfig},
		{"previous key without a key", Config{Token: "t", PreviousEncodingAESKey: vecKey}, ErrInvalidConfig},
		{"bad previous key", Config{Token: "t", EncodingAESKey: vecKey, AppID: "wx", PreviousEncodingAESKey: "short"}, ErrInvalidConfig},
		{"negative MaxBodyBytes", Config{Token: "t", MaxBodyBytes: -1}, ErrInvalidConfig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReceiver(tc.cfg)
			require.ErrorIs(t, err, tc.want)
			assert.Nil(t, r)
			assert.NotContains(t, err.Error(), vecKey[:20])
		})
	}

	// Real keys carry stray bits in their last character, which a strict
	// base64 decoder refuses.
	for _, key := range []string{strings.Repeat("A", 42) + "B", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"} {
		_, err := NewReceiver(Config{Token: "t", EncodingAESKey: key, AppID: "wx"})
		require.NoError(t, err, key)
	}

}

func TestErrorsAreDistinct(t *testing.T) {
	all := []error{ErrUnknownFormat, ErrMalformed, ErrEncrypted, ErrInvalidMessage, ErrInvalidConfig,
		ErrInvalidSignature, ErrExpired, ErrDecrypt, ErrAppIDMismatch, ErrBodyTooLarge}
	for i, a := range all {
		assert.True(t, strings.HasPrefix(a.Error(), "csmsg: "), a.Error())
		for j, b := range all {
			assert.Equal(t, i == j, errors.Is(a, b), "%v vs %v", a, b)
		}
	}
}
