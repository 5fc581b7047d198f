// Package wxcryptotest builds WeChat payloads for tests, independently of
// the code under test: any layout, valid or not, encrypted with the
// standard library alone. Package csmsg's tests and package wxcrypto's use
// it to check decryption against payloads WeChat could send, or could not.
package wxcryptotest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"testing"
)

// SealRaw encrypts plain, which must be whole AES blocks, with the
// EncodingAESKey the way WeChat does (AES-256-CBC, the IV the key's first
// 16 bytes), and returns base64. It pads nothing and checks nothing else.
func SealRaw(t testing.TB, encodingAESKey string, plain []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain)%aes.BlockSize != 0 {
		t.Fatalf("SealRaw of %d bytes: not whole AES blocks", len(plain))
	}
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}

// Payload lays out random | msg_len | msg | appid and then the given pad
// bytes, without checking them; random is "0123456789abcdef".
func Payload(msgLen uint32, msg, appID string, pad []byte) []byte {
	p := []byte("0123456789abcdef")
	p = binary.BigEndian.AppendUint32(p, msgLen)
	p = append(p, msg...)
	p = append(p, appID...)
	return append(p, pad...)
}

// PadTo32 returns the PKCS#7 padding WeChat adds to n bytes: to a multiple
// of 32, not of the AES block.
func PadTo32(n int) []byte {
	k := 32 - n%32
	return bytes.Repeat([]byte{byte(k)}, k)
}
