package csmsg

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the package returns matches one of these with
// [errors.Is]; the detail (which field, which syntax error) is wrapped beneath
// it, so [errors.As] still reaches an underlying *xml.SyntaxError or
// *json.SyntaxError. No error text contains a whole body or a secret.
var (
	// ErrUnknownFormat means the body is neither XML nor JSON: after an
	// optional UTF-8 byte-order mark and whitespace it starts with neither '<'
	// nor '{'. An empty body is ErrUnknownFormat too. Marshal returns it for a
	// Format other than FormatXML and FormatJSON.
	ErrUnknownFormat = errors.New("csmsg: unknown body format")

	// ErrMalformed means the body is not a well-formed push: a syntax error,
	// a truncated body, bytes after the root element or object, invalid
	// UTF-8, a missing MsgType, a CreateTime that is not an integer, or a
	// known field holding the wrong kind of value.
	ErrMalformed = errors.New("csmsg: malformed body")

	// ErrEncrypted means the body is an encrypted envelope (safe mode: an
	// Encrypt field and no MsgType). Parse cannot read it; a Receiver
	// configured with the EncodingAESKey decrypts it.
	ErrEncrypted = errors.New("csmsg: body is encrypted")

	// ErrInvalidMessage means Marshal was given a message it cannot write
	// faithfully: a nil message, a MsgType or Event that does not match the
	// message's type, a string the format cannot carry, or an Unknown whose
	// Raw is empty or in another format.
	ErrInvalidMessage = errors.New("csmsg: message cannot be marshalled")
)

// Sentinel errors of a [Receiver].
var (
	// ErrInvalidConfig means NewReceiver was given a Config it cannot use:
	// no Token, an EncodingAESKey that is not 43 characters of base64 for a
	// 32-byte key, a key without an AppID.
	ErrInvalidConfig = errors.New("csmsg: invalid config")

	// ErrInvalidSignature means the request is not signed by WeChat: a
	// missing, repeated or wrong signature or msg_signature, a missing or
	// malformed timestamp or nonce, or, at a receiver with a key, a request
	// without encrypt_type=aes (no downgrade to plaintext).
	ErrInvalidSignature = errors.New("csmsg: invalid signature")

	// ErrExpired means the request is correctly signed but its timestamp is
	// further from the receiver's clock than Config.Tolerance: a replay, or
	// a clock that is badly off.
	ErrExpired = errors.New("csmsg: timestamp outside the allowed window")

	// ErrDecrypt means an Encrypt value did not decrypt: empty, not base64,
	// not whole AES blocks, bad PKCS#7 padding, or a msg_len past the end.
	ErrDecrypt = errors.New("csmsg: cannot decrypt")

	// ErrAppIDMismatch means a payload decrypted but ends with an appid
	// other than Config.AppID.
	ErrAppIDMismatch = errors.New("csmsg: appid mismatch")

	// ErrBodyTooLarge means the body is longer than Config.MaxBodyBytes.
	ErrBodyTooLarge = errors.New("csmsg: body too large")

	// ErrNotOwner means a [Deduper] was asked to complete or
	// release a claim that the caller does not hold: one another attempt
	// took over after it lapsed, or none at all. (Whether a lapsed claim
	// that no one took over is still the caller's is the store's choice:
	// MemoryDedup keeps it, a store whose keys expire does not.)
	ErrNotOwner = errors.New("csmsg: dedup claim not held by this attempt")
)

// errInvalidUTF8 is the detail of an ErrMalformed body, in either format,
// that is not valid UTF-8.
var errInvalidUTF8 = errors.New("invalid UTF-8")

// malformed wraps a decoder's error beneath ErrMalformed.
func malformed(err error) error {
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}
