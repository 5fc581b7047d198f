package csmsg

import (
	"errors"
	"fmt"

	"github.com/csmsg/csmsg/internal/wxcrypto"
)

// WeChat's scheme itself (the signature, the key, AES-256-CBC with its
// payload layout, the envelopes) is package wxcrypto; this file maps its
// errors to the package's sentinels.

// parseKey decodes an EncodingAESKey. name is the Config field, for the
// error.
func parseKey(name, s string) (*wxcrypto.Key, error) {
	k, err := wxcrypto.ParseKey(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %w", ErrInvalidConfig, name, err)
	}
	return k, nil
}

// Signature returns WeChat's signature of a request: the lowercase hex SHA-1
// of token, timestamp, nonce and the extra parts (the Encrypt value, for
// msg_signature), sorted bytewise and joined with no separator.
func Signature(token, timestamp, nonce string, extra ...string) string {
	return wxcrypto.Signature(token, timestamp, nonce, extra...)
}

// Encrypt encrypts a reply message in WeChat's layout (16 random bytes,
// length, message, AppID, PKCS#7 padding to 32 bytes) with the current
// EncodingAESKey, and returns it in base64. With Config.Rand fixed it is
// deterministic. A receiver without a key returns [ErrInvalidConfig].
func (r *Receiver) Encrypt(plain []byte) (string, error) {
	if r.key == nil {
		return "", fmt.Errorf("%w: no EncodingAESKey", ErrInvalidConfig)
	}
	encrypt, err := r.key.Seal(r.rand, plain, r.appID)
	if err != nil {
		return "", sealError(err)
	}
	return encrypt, nil
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

// decrypt decrypts an Encrypt value with the receiver's keys.
func (r *Receiver) decrypt(encrypt []byte) ([]byte, error) {
	msg, err := wxcrypto.Decrypt(r.key, r.prev, encrypt, r.appID)
	if err != nil {
		return nil, decryptError(err)
	}
	return msg, nil
}

// decryptError maps a failure of wxcrypto.Decrypt to ErrAppIDMismatch, or
// to ErrDecrypt with the detail beneath it.
func decryptError(err error) error {
	if errors.Is(err, wxcrypto.ErrAppIDMismatch) {
		return ErrAppIDMismatch
	}
	return fmt.Errorf("%w: %w", ErrDecrypt, err)
}

// sealError maps a failure of an encryption: a message too long for the
// layout, or one the reply's envelope cannot carry, is ErrInvalidMessage;
// a failure to read random bytes is itself.
func sealError(err error) error {
	if errors.Is(err, wxcrypto.ErrTooLong) || errors.Is(err, wxcrypto.ErrEnvelope) {
		return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	return fmt.Errorf("csmsg: %w", err)
}
