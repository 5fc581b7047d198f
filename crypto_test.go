package csmsg

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/csmsg/csmsg/internal/wxcrypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVectorEncryptedReply(t *testing.T) {
	r, err := NewReceiver(Config{Token: vecToken, EncodingAESKey: vecKey, AppID: vecAppID, Rand: strings.NewReader("707722b803182950")})
	require.NoError(t, err)
	enc := encryptReply(t, r, []byte(`{"demo_resp":"good luck"}`))
	assert.Equal(t, "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==", enc)
	assert.Equal(t, "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1", wxcrypto.Signature(vecToken, "1713424427", "415670741", enc))

	plain, err := decryptString(r, enc)
	require.NoError(t, err)
	assert.Equal(t, `{"demo_resp":"good luck"}`, string(plain))

	plain, err = decryptString(r, encrypt)
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
	enc := encryptReply(t, rotating, []byte("reply"))
	plain, err := decryptString(current, enc)
	require.NoError(t, err)
	assert.Equal(t, "reply", string(plain))
	_, err = decryptString(old, enc)
	require.Error(t, err)

	// A payload neither key opens reports the current key's failure.
	_, err = decryptString(rotating, sealRaw(t, strings.Repeat("C", 43), make([]byte, 64)))
	require.ErrorIs(t, err, ErrDecrypt)
	_, err = decryptString(rotating, sealed(t, "x", "wx0000000000000000"))
	require.ErrorIs(t, err, ErrAppIDMismatch)
}
