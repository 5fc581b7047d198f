package csmsg

import "errors"

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
