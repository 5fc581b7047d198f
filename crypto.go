package csmsg

import (
	"errors"
	"fmt"

	"github.com/csmsg/csmsg/internal/wxcrypto"
)

// WeChat's scheme itself (the signature, the key, AES-256-CBC with its
// payload layout, the envelopes) is package wxcrypto; this file maps its
// errors to the package's sentinels. A receiver needs none of it by name:
// Parse verifies and decrypts, EncodeReply and the Handler encrypt, and
// csmsgtest signs and encrypts for tests.

// parseKey decodes an EncodingAESKey. name is the Config field, for the
// error.
func parseKey(name, s string) (*wxcrypto.Key, error) {
	k, err := wxcrypto.ParseKey(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %w", ErrInvalidConfig, name, err)
	}
	return k, nil
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
