package csmsg

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
)

// encodingAESKeyLen is the length of an EncodingAESKey: 32 bytes in base64
// without the trailing '='.
const encodingAESKeyLen = 43

// WeChat's payload layout: random(16) | msg_len(4, big-endian) | msg | appid,
// padded with PKCS#7 to a multiple of 32 bytes.
const (
	randomLen   = 16
	headerLen   = randomLen + 4
	padBlockLen = 32
)

// aesKey is one EncodingAESKey, ready to use: AES-256-CBC with the IV being
// the key's first 16 bytes.
type aesKey struct {
	block cipher.Block
	iv    []byte
}

// parseKey decodes an EncodingAESKey. The standard decoder is not strict
// about the stray bits real keys carry in their last character. name is the
// Config field, for the error.
func parseKey(name, s string) (*aesKey, error) {
	if len(s) != encodingAESKeyLen {
		return nil, fmt.Errorf("%w: %s must be %d characters, not %d", ErrInvalidConfig, name, encodingAESKeyLen, len(s))
	}
	raw, err := base64.StdEncoding.DecodeString(s + "=")
	if err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("%w: %s is not the base64 of a 32-byte key", ErrInvalidConfig, name)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidConfig, name, err)
	}
	return &aesKey{block: block, iv: raw[:aes.BlockSize]}, nil
}

// Details of ErrDecrypt.
var (
	errEmptyEncrypt = errors.New("empty Encrypt")
	errNotBase64    = errors.New("Encrypt is not base64")
	errNotBlocks    = errors.New("ciphertext is not whole AES blocks")
	errPadding      = errors.New("bad padding")
	errShort        = errors.New("payload shorter than its header")
	errMsgLen       = errors.New("msg_len past the end of the payload")
)

// decodeBase64 decodes an Encrypt value into a new buffer.
func decodeBase64(encrypt []byte) ([]byte, error) {
	if len(encrypt) == 0 {
		return nil, fmt.Errorf("%w: %w", ErrDecrypt, errEmptyEncrypt)
	}
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(encrypt)))
	n, err := base64.StdEncoding.Decode(buf, encrypt)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecrypt, errNotBase64)
	}
	return buf[:n], nil
}

// open decrypts ct in place and returns the message and the appid it holds,
// both slices of ct. Every check is strict, and no input panics.
func (k *aesKey) open(ct []byte) (msg, appID []byte, err error) {
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, nil, fmt.Errorf("%w: %w", ErrDecrypt, errNotBlocks)
	}
	cipher.NewCBCDecrypter(k.block, k.iv).CryptBlocks(ct, ct)

	// PKCS#7 to 32 bytes: the last byte n is in 1..32 and so are the n
	// bytes before it. Every pad byte is checked, without branching on
	// which one is wrong.
	pad := int(ct[len(ct)-1])
	if pad < 1 || pad > padBlockLen || pad > len(ct) {
		return nil, nil, fmt.Errorf("%w: %w", ErrDecrypt, errPadding)
	}
	good := 1
	for _, b := range ct[len(ct)-pad:] {
		good &= subtle.ConstantTimeByteEq(b, byte(pad))
	}
	if good != 1 {
		return nil, nil, fmt.Errorf("%w: %w", ErrDecrypt, errPadding)
	}
	content := ct[:len(ct)-pad]
	if len(content) < headerLen {
		return nil, nil, fmt.Errorf("%w: %w", ErrDecrypt, errShort)
	}
	n := binary.BigEndian.Uint32(content[randomLen:headerLen])
	if uint64(n) > uint64(len(content)-headerLen) {
		return nil, nil, fmt.Errorf("%w: %w", ErrDecrypt, errMsgLen)
	}
	end := headerLen + int(n)
	return content[headerLen:end], content[end:], nil
}

// seal encrypts msg in WeChat's layout, with random from rand, and returns
// it in base64.
func (k *aesKey) seal(rand io.Reader, msg []byte, appID string) (string, error) {
	if uint64(len(msg)) > math.MaxUint32 {
		return "", fmt.Errorf("%w: message longer than msg_len can say", ErrInvalidMessage)
	}
	n := headerLen + len(msg) + len(appID)
	pad := padBlockLen - n%padBlockLen
	buf := make([]byte, n+pad)
	if _, err := io.ReadFull(rand, buf[:randomLen]); err != nil {
		return "", fmt.Errorf("csmsg: reading random bytes: %w", err)
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

// Signature returns WeChat's signature of a request: the lowercase hex SHA-1
// of token, timestamp, nonce and the extra parts (the Encrypt value, for
// msg_signature), sorted bytewise and joined with no separator.
func Signature(token, timestamp, nonce string, extra ...string) string {
	parts := make([]sigPart, 0, 3+len(extra))
	parts = append(parts, sigPart{s: token}, sigPart{s: timestamp}, sigPart{s: nonce})
	for _, e := range extra {
		parts = append(parts, sigPart{s: e})
	}
	var sig [2 * sha1.Size]byte
	signParts(&sig, parts)
	return string(sig[:])
}

// signatureOf is Signature for the receiver's hot path: the signature of
// token, timestamp, nonce and, if not nil, encrypt (bytes of the body),
// into dst, without allocating for a value of the usual size.
func signatureOf(dst *[2 * sha1.Size]byte, token, timestamp, nonce string, encrypt []byte) {
	parts := [4]sigPart{{s: token}, {s: timestamp}, {s: nonce}, {b: encrypt}}
	n := 3
	if encrypt != nil {
		n = 4
	}
	signParts(dst, parts[:n])
}

// sigPart is one part of a signature: a string, or bytes of the body.
type sigPart struct {
	s string
	b []byte
}

// less orders parts bytewise, without converting bytes to a new string.
func (p sigPart) less(q sigPart) bool {
	switch {
	case p.b == nil && q.b == nil:
		return p.s < q.s
	case p.b == nil:
		return p.s < string(q.b)
	case q.b == nil:
		return string(p.b) < q.s
	}
	return string(p.b) < string(q.b)
}

// signParts sorts parts bytewise, joins them, and writes the hex SHA-1 of
// the result into dst.
func signParts(dst *[2 * sha1.Size]byte, parts []sigPart) {
	for i := 1; i < len(parts); i++ { // insertion sort: three or four parts
		for j := i; j > 0 && parts[j].less(parts[j-1]); j-- {
			parts[j], parts[j-1] = parts[j-1], parts[j]
		}
	}
	var buf [1024]byte
	joined := buf[:0]
	for _, p := range parts {
		joined = append(joined, p.s...)
		joined = append(joined, p.b...)
	}
	sum := sha1.Sum(joined)
	hex.Encode(dst[:], sum[:])
}

// signatureEqual compares a computed signature with a received one in
// constant time (the length is not secret).
func signatureEqual(want *[2 * sha1.Size]byte, got string) bool {
	if len(got) != len(want) {
		return false
	}
	var v byte
	for i := range want {
		v |= want[i] ^ got[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}

// Encrypt encrypts a reply message in WeChat's layout (16 random bytes,
// length, message, AppID, PKCS#7 padding to 32 bytes) with the current
// EncodingAESKey, and returns it in base64. With Config.Rand fixed it is
// deterministic. A receiver without a key returns [ErrInvalidConfig].
func (r *Receiver) Encrypt(plain []byte) (string, error) {
	if r.key == nil {
		return "", fmt.Errorf("%w: no EncodingAESKey", ErrInvalidConfig)
	}
	return r.key.seal(r.rand, plain, r.appID)
}

// Decrypt decrypts an Encrypt value and returns the message it holds, after
// checking that the payload ends with the receiver's AppID. It tries the
// current EncodingAESKey, then the previous one if set. Every failure is
// [ErrDecrypt] or [ErrAppIDMismatch]; a receiver without a key returns
// [ErrInvalidConfig].
func (r *Receiver) Decrypt(encrypt string) ([]byte, error) {
	if r.key == nil {
		return nil, fmt.Errorf("%w: no EncodingAESKey", ErrInvalidConfig)
	}
	return r.decrypt([]byte(encrypt))
}

func (r *Receiver) decrypt(encrypt []byte) ([]byte, error) {
	ct, err := decodeBase64(encrypt)
	if err != nil {
		return nil, err
	}
	var spare []byte // the ciphertext again, for the previous key
	if r.prev != nil {
		spare = append([]byte(nil), ct...)
	}
	msg, err := r.openWith(r.key, ct)
	if err != nil && r.prev != nil {
		if m, err2 := r.openWith(r.prev, spare); err2 == nil {
			return m, nil
		}
	}
	return msg, err
}

// openWith decrypts ct with k and checks the appid.
func (r *Receiver) openWith(k *aesKey, ct []byte) ([]byte, error) {
	msg, appID, err := k.open(ct)
	if err != nil {
		return nil, err
	}
	if string(appID) != r.appID {
		return nil, ErrAppIDMismatch
	}
	return msg, nil
}
