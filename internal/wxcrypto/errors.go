package wxcrypto

import "errors"

// The package's errors, for [errors.Is]. A failure of [Decrypt],
// [DecodeBase64] or [Key.Open] is ErrAppIDMismatch or matches ErrDecrypt;
// one of [ParseKey] matches ErrKey. The text of such a match is its detail
// alone ("bad padding"), for the caller to put beneath a sentinel of its
// own.
var (
	// ErrDecrypt means an Encrypt value did not decrypt.
	ErrDecrypt = errors.New("cannot decrypt")

	// ErrAppIDMismatch means a payload decrypted but ends with an appid
	// other than the one expected.
	ErrAppIDMismatch = errors.New("appid mismatch")

	// ErrKey means a string is not an EncodingAESKey.
	ErrKey = errors.New("not an EncodingAESKey")

	// ErrTooLong means a message is longer than msg_len can say.
	ErrTooLong = errors.New("message longer than msg_len can say")

	// ErrSignature means an encrypted reply's MsgSignature is not the
	// signature of its fields.
	ErrSignature = errors.New("MsgSignature does not match")

	// ErrEnvelope means an envelope cannot be written or read: a value it
	// cannot carry, or a body that is not an envelope.
	ErrEnvelope = errors.New("bad envelope")
)

// Details of ErrDecrypt.
const (
	errEmptyEncrypt decryptError = "empty Encrypt"
	errNotBase64    decryptError = "Encrypt is not base64"
	errNotBlocks    decryptError = "ciphertext is not whole AES blocks"
	errPadding      decryptError = "bad padding"
	errShort        decryptError = "payload shorter than its header"
	errMsgLen       decryptError = "msg_len past the end of the payload"
)

// decryptError is one detail of ErrDecrypt.
type decryptError string

func (e decryptError) Error() string { return string(e) }

// Is makes a decryptError match ErrDecrypt.
func (decryptError) Is(target error) bool { return target == ErrDecrypt }

// keyError is one detail of ErrKey.
type keyError string

func (e keyError) Error() string { return string(e) }

// Is makes a keyError match ErrKey.
func (keyError) Is(target error) bool { return target == ErrKey }
