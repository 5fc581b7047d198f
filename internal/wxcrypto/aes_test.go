package wxcrypto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg/internal/wxcrypto/wxcryptotest"
)

// The worked vector of WeChat's message-push documentation
// (/work/shared/PROTOCOL.md, section 7).
const (
	vecToken   = "AAAAA"
	vecAppID   = "wxba5fad812f8e6fb9"
	vecNonce   = "415670741"
	encrypt    = "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
	vecPlain   = `{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}`
	replyPlain = `{"demo_resp":"good luck"}`
	replyEnc   = "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ=="
	replySig   = "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1"
	replyTime  = "1713424427"
	replyRand  = "707722b803182950"
)

var vecKey = strings.Repeat("A", 43) // 32 zero bytes

func mustKey(t testing.TB, s string) *Key {
	t.Helper()
	k, err := ParseKey(s)
	require.NoError(t, err)
	return k
}

func TestVector(t *testing.T) {
	k := mustKey(t, vecKey)
	enc, err := k.Seal(strings.NewReader(replyRand), []byte(replyPlain), vecAppID)
	require.NoError(t, err)
	assert.Equal(t, replyEnc, enc)
	assert.Equal(t, replySig, Signature(vecToken, replyTime, vecNonce, enc))

	for enc, want := range map[string]string{replyEnc: replyPlain, encrypt: vecPlain} {
		plain, err := Decrypt(k, nil, []byte(enc), vecAppID)
		require.NoError(t, err)
		assert.Equal(t, want, string(plain))
	}

	// The push's payload, field by field.
	ct, err := DecodeBase64([]byte(encrypt))
	require.NoError(t, err)
	msg, appID, err := k.Open(ct)
	require.NoError(t, err)
	assert.Equal(t, vecPlain, string(msg))
	assert.Equal(t, vecAppID, string(appID))
	assert.Equal(t, "a8eedb185eb2fecf", string(ct[:16]))
	assert.Equal(t, uint32(167), binary.BigEndian.Uint32(ct[16:20]))
}

func TestParseKey(t *testing.T) {
	cases := []struct {
		key, err string
	}{
		{"short", "must be 43 characters, not 5"},
		{strings.Repeat("A", 44), "must be 43 characters, not 44"},
		{strings.Repeat("A", 42) + "!", "is not the base64 of a 32-byte key"},
	}
	for _, tc := range cases {
		_, err := ParseKey(tc.key)
		require.ErrorIs(t, err, ErrKey, tc.key)
		assert.EqualError(t, err, tc.err)
	}
	// The last character's stray bits, which real keys carry, are accepted.
	_, err := ParseKey(strings.Repeat("A", 42) + "B")
	require.NoError(t, err)
}

// Payloads built independently of the code under test.
var (
	sealRaw = wxcryptotest.SealRaw
	payload = wxcryptotest.Payload
	padTo32 = wxcryptotest.PadTo32
)

// sealed returns a correctly padded, encrypted payload of msg for appID.
func sealed(t testing.TB, key, msg, appID string) string {
	p := payload(uint32(len(msg)), msg, appID, nil)
	return sealRaw(t, key, append(p, padTo32(len(p))...))
}

// TestDecryptStrict runs Decrypt on every way a payload can be wrong and
// checks the exact error.
func TestDecryptStrict(t *testing.T) {
	k := mustKey(t, vecKey)
	cases := []struct {
		name    string
		encrypt func(t testing.TB) string
		err     error
	}{
		{"empty", func(testing.TB) string { return "" }, errEmptyEncrypt},
		{"not base64", func(testing.TB) string { return "!!!!" }, errNotBase64},
		{"not whole blocks", func(testing.TB) string { return "AAAA" }, errNotBlocks},
		{"pad 0", func(t testing.TB) string { return sealRaw(t, vecKey, make([]byte, 32)) }, errPadding},
		{"pad 33", func(t testing.TB) string { return sealRaw(t, vecKey, bytes.Repeat([]byte{33}, 48)) }, errPadding},
		{"pad of 16 bytes in a 32-byte payload, one wrong", func(t testing.TB) string {
			p := append(make([]byte, 16), bytes.Repeat([]byte{16}, 16)...)
			p[16] = 15
			return sealRaw(t, vecKey, p)
		}, errPadding},
		{"pad longer than the payload", func(t testing.TB) string { return sealRaw(t, vecKey, bytes.Repeat([]byte{32}, 16)) }, errPadding},
		{"shorter than its header", func(t testing.TB) string { return sealRaw(t, vecKey, bytes.Repeat([]byte{16}, 32)) }, errShort},
		{"msg_len one past the end", func(t testing.TB) string {
			p := payload(1+uint32(len("m"+vecAppID)), "m", vecAppID, nil)
			return sealRaw(t, vecKey, append(p, padTo32(len(p))...))
		}, errMsgLen},
		{"msg_len 2^32-1", func(t testing.TB) string {
			p := payload(1<<32-1, "m", vecAppID, nil)
			return sealRaw(t, vecKey, append(p, padTo32(len(p))...))
		}, errMsgLen},
		{"another appid", func(t testing.TB) string { return sealed(t, vecKey, "x", "wx0000000000000000") }, ErrAppIDMismatch},
		{"another key", func(t testing.TB) string { return sealed(t, strings.Repeat("B", 43), "x", vecAppID) }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := Decrypt(k, nil, []byte(tc.encrypt(t)), vecAppID)
			assert.Nil(t, msg)
			require.Error(t, err)
			if tc.err != nil {
				assert.Equal(t, tc.err, err)
			}
			assert.True(t, errors.Is(err, ErrDecrypt) != (err == ErrAppIDMismatch), "%v", err)
		})
	}
}

func TestDecryptRotation(t *testing.T) {
	oldKey, newKey := mustKey(t, strings.Repeat("B", 43)), mustKey(t, vecKey)
	for name, enc := range map[string]string{
		"old key": sealed(t, strings.Repeat("B", 43), "m", vecAppID),
		"new key": sealed(t, vecKey, "m", vecAppID),
	} {
		msg, err := Decrypt(newKey, oldKey, []byte(enc), vecAppID)
		require.NoError(t, err, name)
		assert.Equal(t, "m", string(msg), name)
	}
	// A payload neither key opens reports the current key's failure.
	_, err := Decrypt(newKey, oldKey, []byte(sealRaw(t, strings.Repeat("C", 43), make([]byte, 64))), vecAppID)
	assert.Equal(t, errPadding, err)
	_, err = Decrypt(newKey, oldKey, []byte(sealed(t, vecKey, "x", "wx0000000000000000")), vecAppID)
	assert.Equal(t, ErrAppIDMismatch, err)
}

func TestSealErrors(t *testing.T) {
	k := mustKey(t, vecKey)
	_, err := k.Seal(strings.NewReader("short"), []byte("m"), vecAppID)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.EqualError(t, err, "reading random bytes: unexpected EOF")
}

// TestSealOpen: Open undoes Seal for messages of every length around the
// padding's block.
func TestSealOpen(t *testing.T) {
	k := mustKey(t, vecKey)
	for n := 0; n <= 70; n++ {
		msg := bytes.Repeat([]byte{'x'}, n)
		enc, err := k.Seal(strings.NewReader(replyRand), msg, vecAppID)
		require.NoError(t, err)
		got, err := Decrypt(k, nil, []byte(enc), vecAppID)
		require.NoError(t, err)
		assert.Equal(t, msg, got)
	}
}

// TestDecryptAllocations: decrypting a push with one key costs the base64
// buffer and the CBC decrypter, nothing else; signing costs nothing.
func TestDecryptAllocations(t *testing.T) {
	k := mustKey(t, vecKey)
	b := []byte(encrypt)
	assert.Equal(t, 2.0, testing.AllocsPerRun(100, func() { _, _ = Decrypt(k, nil, b, vecAppID) }))
	var sig [SignatureLen]byte
	assert.Equal(t, 0.0, testing.AllocsPerRun(100, func() { Sign(&sig, vecToken, replyTime, vecNonce, b) }))
	// An Encrypt value of any length: the parts are hashed in place.
	long := bytes.Repeat([]byte("QUJD"), 64<<10)
	assert.Equal(t, 0.0, testing.AllocsPerRun(20, func() { Sign(&sig, vecToken, replyTime, vecNonce, long) }))
	assert.Equal(t, Signature(vecToken, replyTime, vecNonce, string(long)), string(sig[:]))
}
