package csmsg

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg/internal/wxcrypto"
	"github.com/csmsg/csmsg/internal/wxcrypto/wxcryptotest"
)

// The worked example of WeChat's message-push documentation (its debug_demo
// push): its Token, and the AppID and all-zero EncodingAESKey of its safe-mode request.
const (
	vecToken = "AAAAA"
	vecAppID = "wxba5fad812f8e6fb9"
)

var vecKey = strings.Repeat("A", 43) // 32 zero bytes

// at returns a clock stopped at the given Unix second.
func at(unix int64) func() time.Time {
	return func() time.Time { return time.Unix(unix, 0) }
}

// countingReader is a deterministic stand-in for crypto/rand: 0, 1, 2, ...
// Like crypto/rand, it is safe for concurrent use.
type countingReader struct {
	mu sync.Mutex
	n  byte
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range p {
		p[i] = c.n
		c.n++
	}
	return len(p), nil
}

// SignForTest is csmsgtest.Sign and ModeNameForTest csmsgtest.Mode's
// String, set by sign_test.go (csmsgtest imports this package, so its
// internal tests reach csmsgtest only this way).
var (
	SignForTest     func(cfg Config, mode int, body []byte) (url.Values, []byte, error)
	ModeNameForTest func(mode int) string
)

// Mode is csmsgtest.Mode, for the package's internal tests.
type Mode int

// The modes, numbered as csmsgtest numbers them.
const (
	ModePlaintext Mode = iota
	ModeCompatible
	ModeSafe
)

func (m Mode) String() string { return ModeNameForTest(int(m)) }

// receiverConfigs holds the Config of each receiver newReceiver made, for
// signPush.
var receiverConfigs sync.Map // *Receiver → Config

// signPush signs body for r's Config in mode, with csmsgtest.Sign.
func signPush(r *Receiver, body []byte, mode Mode) (url.Values, []byte, error) {
	cfg, ok := receiverConfigs.Load(r)
	if !ok {
		panic("signPush of a receiver newReceiver did not make")
	}
	return SignForTest(cfg.(Config), int(mode), body)
}

// newReceiver returns a receiver for tests: the vector's Token, clock
// stopped at now, deterministic random bytes, and with keyed the vector's
// key and AppID. edit, if not nil, changes the config first.
func newReceiver(t testing.TB, keyed bool, now int64, edit func(*Config)) *Receiver {
	t.Helper()
	cfg := Config{Token: vecToken, Now: at(now), Rand: &countingReader{}}
	if keyed {
		cfg.EncodingAESKey, cfg.AppID = vecKey, vecAppID
	}
	if edit != nil {
		edit(&cfg)
	}
	r, err := NewReceiver(cfg)
	require.NoError(t, err)
	receiverConfigs.Store(r, cfg)
	return r
}

// receiverEntryPoints are the ways to hand a receiver a push, short of the
// Handler: Parse, and ParseRequest of an http.Request.
var receiverEntryPoints = map[string]func(r *Receiver, q url.Values, body []byte) (Message, error){
	"Parse": func(r *Receiver, q url.Values, body []byte) (Message, error) { return r.Parse(q, body) },
	"ParseRequest": func(r *Receiver, q url.Values, body []byte) (Message, error) {
		return r.ParseRequest(httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), bytes.NewReader(body)))
	},
}

// serve sends one request to h and returns the recorded response.
func serve(h http.Handler, method string, q url.Values, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/wechat?"+q.Encode(), bytes.NewReader(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// Payloads built independently of the code under test.
var (
	sealRaw = wxcryptotest.SealRaw
	payload = wxcryptotest.Payload
	padTo32 = wxcryptotest.PadTo32
)

// safeEnvelope returns a safe-mode JSON push of encrypt, signed for the
// vector's Token at the given time.
func safeEnvelope(encrypt string, timestamp int64) (url.Values, []byte) {
	ts := strconv.FormatInt(timestamp, 10)
	q := url.Values{
		"signature":     {wxcrypto.Signature(vecToken, ts, "415670741")},
		"timestamp":     {ts},
		"nonce":         {"415670741"},
		"encrypt_type":  {"aes"},
		"msg_signature": {wxcrypto.Signature(vecToken, ts, "415670741", encrypt)},
		"openid":        {openID},
	}
	return q, []byte(`{"ToUserName":"gh_97417a04a28d","Encrypt":"` + encrypt + `"}`)
}

// plainQuery returns a plaintext-mode query signed at the given time.
func plainQuery(timestamp int64) url.Values {
	ts := strconv.FormatInt(timestamp, 10)
	return url.Values{"signature": {wxcrypto.Signature(vecToken, ts, "486452656")}, "timestamp": {ts}, "nonce": {"486452656"}}
}

// encryptReply seals plain with r's current key, as a reply is.
func encryptReply(t testing.TB, r *Receiver, plain []byte) string {
	t.Helper()
	enc, err := r.key.Seal(r.rand, plain, r.appID)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// decryptString decrypts an Encrypt value with r's keys.
func decryptString(r *Receiver, encrypt string) ([]byte, error) {
	return r.decrypt([]byte(encrypt))
}
