package csmsg

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVectorEncryptedReply(t *testing.T) {
	r, err := NewReceiver(Config{Token: vecToken, EncodingAESKey: vecKey, AppID: vecAppID, Rand: strings.NewReader("707722b803182950")})
	require.NoError(t, err)
	enc, err := r.Encrypt([]byte(`{"demo_resp":"good luck"}`))
	require.NoError(t, err)
	assert.Equal(t, "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==", enc)
	assert.Equal(t, "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1", Signature(vecToken, "1713424427", "415670741", enc))

	plain, err := r.Decrypt(enc)
	require.NoError(t, err)
	assert.Equal(t, `{"demo_resp":"good luck"}`, string(plain))

	plain, err = r.Decrypt(encrypt)
	require.NoError(t, err)
	assert.Equal(t, vecSafePlain, string(plain))
}

// sealed returns a correctly padded, encrypted payload of msg for appID.
func sealed(t testing.TB, msg, appID string) string {
	p := payload(uint32(len(msg)), msg, appID, nil)
	return sealRaw(t, vecKey, append(p, padTo32(len(p))...))
}

// withBlocks pads p to whole AES blocks with the byte b, adding at least min.
func withBlocks(p []byte, b byte, min int) []byte {
	p = append(p, bytes.Repeat([]byte{b}, min)...)
	for len(p)%16 != 0 {
		p = append(p, b)
	}
	return p
}

func TestKeyRotation(t *testing.T) {
	oldKey, newKey := strings.Repeat("B", 43), vecKey
	old := newReceiver(t, true, hostileNow, func(c *Config) { c.EncodingAESKey = oldKey })
	rotating := newReceiver(t, true, hostileNow, func(c *Config) { c.EncodingAESKey, c.PreviousEncodingAESKey = newKey, oldKey })
	current := newReceiver(t, true, hostileNow, nil)

	body, err := os.ReadFile("testdata/text.xml")
	require.NoError(t, err)
	want := wantFor(t, "text.xml")
	for name, sender := range map[string]*Receiver{"old key": old, "new key": current} {
		q, push, err := signPush(sender, body, ModeSafe)
		require.NoError(t, err)
		for entry, parse := range receiverEntryPoints {
			t.Run(name+"/"+entry, func(t *testing.T) {
				got, err := parse(rotating, q, push)
				require.NoError(t, err)
				assert.Equal(t, want, got)
			})
		}
	}

	// Replies use the new key only.
	enc, err := rotating.Encrypt([]byte("reply"))
	require.NoError(t, err)
	plain, err := current.Decrypt(enc)
	require.NoError(t, err)
	assert.Equal(t, "reply", string(plain))
	_, err = old.Decrypt(enc)
	require.Error(t, err)

	// A payload neither key opens reports the current key's failure.
	_, err = rotating.Decrypt(sealRaw(t, strings.Repeat("C", 43), make([]byte, 64)))
	require.ErrorIs(t, err, ErrDecrypt)
	_, err = rotating.Decrypt(sealed(t, "x", "wx0000000000000000"))
	require.ErrorIs(t, err, ErrAppIDMismatch)
}

// referenceSignature is WeChat's signature written the plainest way, to
// check the package's against.
func referenceSignature(parts ...string) string {
	parts = append([]string(nil), parts...)
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// TestSignatureOf checks Signature and the receiver's allocation-free
// signatureOf against a plain implementation, on the vectors and on parts
// that sort every way.
func TestSignatureOf(t *testing.T) {
	cases := []struct {
		token, timestamp, nonce string
		encrypt                 []byte
	}{
		{"AAAAA", "1714036504", "1514711492", nil},
		{"AAAAA", "1714112445", "415670741", []byte(encrypt)},
		{"b", "a", "c", []byte("")},
		{"same", "same", "same", []byte("same")},
		{"z", "1", "y", []byte("0")},
		{"", "", "", nil},
		{"t", "1", "2", bytes.Repeat([]byte("x"), 5000)}, // longer than the stack buffer
	}
	for _, tc := range cases {
		parts := []string{tc.token, tc.timestamp, tc.nonce}
		if tc.encrypt != nil {
			parts = append(parts, string(tc.encrypt))
		}
		want := referenceSignature(parts...)
		assert.Equal(t, want, Signature(parts[0], parts[1], parts[2], parts[3:]...))

		var got [40]byte
		signatureOf(&got, tc.token, tc.timestamp, tc.nonce, tc.encrypt)
		assert.Equal(t, want, string(got[:]))
		assert.True(t, signatureEqual(&got, want))
		assert.False(t, signatureEqual(&got, want[:39]))
		assert.False(t, signatureEqual(&got, want[:39]+"g"))
	}
	assert.Equal(t, referenceSignature("a", "b", "c", "d", "e"), Signature("e", "d", "c", "b", "a"))
}
