package wxcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// EncodingAESKeyLen is the length of an EncodingAESKey: 32 bytes in base64
// without the trailing '='.
const EncodingAESKeyLen = 43

// WeChat's payload layout: random(16) | msg_len(4, big-endian) | msg | appid,
// padded with PKCS#7 to a multiple of 32 bytes.
const (
	randomLen   = 16
	headerLen   = randomLen + 4
	padBlockLen = 32
)

// Key is one EncodingAESKey, ready to use: AES-256-CBC with the IV being
// the key's first 16 bytes.
type Key struct {
	block cipher.Block
	iv    []byte
}

// ParseKey decodes an EncodingAESKey. The standard decoder is not strict
// about the stray bits real keys carry in their last character. An error
// matches [ErrKey] and says what is wrong ("must be 43 characters, not
// 42"), never the key.
func ParseKey(s string) (*Key, error) {
	if len(s) != EncodingAESKeyLen {
		return nil, keyError(fmt.Sprintf("must be %d characters, not %d", EncodingAESKeyLen, len(s)))
	}
	raw, err := base64.StdEncoding.DecodeString(s + "=")
	if err != nil || len(raw) != 32 {
		return nil, keyError("is not the base64 of a 32-byte key")
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, keyError(err.Error())
	}
	return &Key{block: block, iv: raw[:aes.BlockSize]}, nil
}

// Seal encrypts msg and appID in WeChat's layout, with 16 random bytes from
// rand, and returns it in base64: the Encrypt value of a push or a reply.
func (k *Key) Seal(rand io.Reader, msg []byte, appID string) (string, error) {
	if uint64(len(msg)) > math.MaxUint32 {
		return "", ErrTooLong
	}
	n := headerLen + len(msg) + len(appID)
	pad := padBlockLen - n%padBlockLen
	buf := make([]byte, n+pad)
	if _, err := io.ReadFull(rand, buf[:randomLen]); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	binary.BigEndian.PutUint32(buf[randomLen:headerLen], uint32(len(msg)))
	copy(buf[headerLen:], msg)
	copy(buf[headerLen+len(msg):], appID)
	for i := n; i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(k.block, k.iv).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// Open decrypts ct, the base64-decoded Encrypt value, in place and returns
// the message and the appid it holds, both slices of ct. Every check is
// strict, and no input panics. An error matches [ErrDecrypt].
func (k *Key) Open(ct []byte) (msg, appID []byte, err error) {
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, nil, errNotBlocks
	}
	cipher.NewCBCDecrypter(k.block, k.iv).CryptBlocks(ct, ct)

	// PKCS#7 to 32 bytes: the last byte n is in 1..32 and so are the n
	// bytes before it. Every pad byte is checked, without branching on
	// which one is wrong.
	pad := int(ct[len(ct)-1])
	if pad < 1 || pad > padBlockLen || pad > len(ct) {
		return nil, nil, errPadding
	}
	good := 1
	for _, b := range ct[len(ct)-pad:] {
		good &= subtle.ConstantTimeByteEq(b, byte(pad))
	}
	if good != 1 {
		return nil, nil, errPadding
	}
	content := ct[:len(ct)-pad]
	if len(content) < headerLen {
		return nil, nil, errShort
	}
	n := binary.BigEndian.Uint32(content[randomLen:headerLen])
	if uint64(n) > uint64(len(content)-headerLen) {
		return nil, nil, errMsgLen
	}
	end := headerLen + int(n)
	return content[headerLen:end], content[end:], nil
}

// DecodeBase64 decodes an Encrypt value into a new buffer. An error
// matches [ErrDecrypt].
func DecodeBase64(encrypt []byte) ([]byte, error) {
	if len(encrypt) == 0 {
		return nil, errEmptyEncrypt
	}
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(encrypt)))
	n, err := base64.StdEncoding.Decode(buf, encrypt)
	if err != nil {
		return nil, errNotBase64
	}
	return buf[:n], nil
}

// Decrypt decodes an Encrypt value, opens it with key, or else with prev
// if not nil (the key before a rotation), and checks that the payload ends
// with appID. It returns the message, a slice of a new buffer. A failure
// matches [ErrDecrypt] or is [ErrAppIDMismatch]; when neither key opens the
// payload, the error is key's.
func Decrypt(key, prev *Key, encrypt []byte, appID string) ([]byte, error) {
	ct, err := DecodeBase64(encrypt)
	if err != nil {
		return nil, err
	}
	var spare []byte // the ciphertext again, for the previous key
	if prev != nil {
		spare = append([]byte(nil), ct...)
	}
	msg, err := openFor(key, ct, appID)
	if err != nil && prev != nil {
		if m, err2 := openFor(prev, spare, appID); err2 == nil {
			return m, nil
		}
	}
	return msg, err
}

// openFor opens ct with k and checks the appid.
func openFor(k *Key, ct []byte, appID string) ([]byte, error) {
	msg, got, err := k.Open(ct)
	if err != nil {
		return nil, err
	}
	if string(got) != appID {
		return nil, ErrAppIDMismatch
	}
	return msg, nil
}
