package wxcrypto

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// referenceSignature is WeChat's signature written the plainest way, to
// check the package's against.
func referenceSignature(parts ...string) string {
	parts = append([]string(nil), parts...)
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// TestSignature checks Signature and the receiver's allocation-free Sign
// against a plain implementation, on the vectors and on parts
// that sort every way.
func TestSignature(t *testing.T) {
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

		var got [SignatureLen]byte
		Sign(&got, tc.token, tc.timestamp, tc.nonce, tc.encrypt)
		assert.Equal(t, want, string(got[:]))
		assert.True(t, SignatureEqual(&got, want))
		assert.False(t, SignatureEqual(&got, want[:39]))
		assert.False(t, SignatureEqual(&got, want[:39]+"g"))
	}
	assert.Equal(t, referenceSignature("a", "b", "c", "d", "e"), Signature("e", "d", "c", "b", "a"))
}
