package csmsg

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The Handler names why it refused a push twice: in the body of its
// answer, for the sender, and in its log line, for the backend's
// developer. Both come from the table below, one row per cause.
//
// The body tells the sender only what it can see for itself: its signature
// or timestamp is refused, its body is too large or not a push, it sent an
// encrypted push to a receiver without a key or a plaintext one to a
// receiver with one. Once the signature passes, every failure to decrypt
// (padding, length, appid, a message that does not parse) answers one text, so that the answers are no
// oracle on the ciphertext; the log line tells them apart.

// errNotEncrypted is the detail of an ErrInvalidSignature for a request
// without encrypt_type=aes at a receiver with a key.
var errNotEncrypted = errors.New("no encrypt_type=aes, and the receiver has a key")

// errDecryptedMessage is the detail of an error of Parse on a decrypted
// message: it answers as a failure to decrypt does.
var errDecryptedMessage = errors.New("the decrypted message")

// A cause is one reason the Handler refuses a push.
type cause struct {
	err    error  // the error it is, matched with errors.Is
	answer string // in the body of the answer, after the status text
	log    string // in the log line: the cause in words and what to check
}

// causes are the Handler's reasons to refuse a push, the most specific
// first.
var causes = []cause{
	{errDecryptedMessage, "cannot decrypt",
		"the push decrypted to a message that does not parse: check that Config.EncodingAESKey is the EncodingAESKey of the message-push settings"},
	{errNotEncrypted, "the receiver accepts only encrypted pushes (encrypt_type=aes)",
		"a plaintext push at a receiver with an EncodingAESKey: check that the message-push settings are in compatible or safe mode, or leave Config.EncodingAESKey empty for plaintext mode"},
	{ErrInvalidSignature, "invalid signature",
		"the signature does not match: check that Config.Token is the Token of the message-push settings"},
	{ErrExpired, "timestamp outside the allowed window",
		"the timestamp is outside Config.Tolerance of this server's clock: a replay, or a clock that is off"},
	{ErrBodyTooLarge, "body too large",
		"the body is longer than Config.MaxBodyBytes"},
	{ErrEncrypted, "encrypted push, and the receiver has no EncodingAESKey",
		"an encrypted push at a receiver without a key: set Config.EncodingAESKey and Config.AppID to those of the message-push settings"},
	{ErrAppIDMismatch, "cannot decrypt",
		"the push is for another appid: check that Config.AppID is the mini program's appid (a third-party platform's own, if it receives on the mini program's behalf)"},
	{ErrDecrypt, "cannot decrypt",
		"the push does not decrypt: check that Config.EncodingAESKey is the EncodingAESKey of the message-push settings (while it changes, set Config.PreviousEncodingAESKey to the old one)"},
	{ErrUnknownFormat, "malformed body",
		"the body is neither XML nor JSON"},
	{ErrMalformed, "malformed body",
		"the body is not a well-formed push"},
}

// causeOf returns the cause of err, or nil for an error the Handler
// answers with the status text alone (a failing HandlerFunc, a method).
func causeOf(err error) *cause {
	for i := range causes {
		if errors.Is(err, causes[i].err) {
			return &causes[i]
		}
	}
	return nil
}

// answerText is the body of the Handler's answer to err: the status text,
// and the cause the sender may see.
func answerText(status int, err error) string {
	if c := causeOf(err); c != nil && status < 500 {
		return http.StatusText(status) + ": " + c.answer
	}
	return http.StatusText(status)
}

// describeSkew says how far a request's timestamp is from the receiver's
// clock, readably: "timestamp 1700000000 (2023-11-14 22:13:20 UTC) is 2
// years 7 months behind the receiver's clock (tolerance 5m0s)".
func describeSkew(ts int64, d, tolerance time.Duration) string {
	way := "ahead of"
	if d < 0 {
		way, d = "behind", -d
	}
	at := time.Unix(ts, 0).UTC().Format("2006-01-02 15:04:05 UTC")
	return fmt.Sprintf("timestamp %d (%s) is %s %s the receiver's clock (tolerance %v)", ts, at, roughDuration(d), way, tolerance)
}

// roughDuration writes d, not negative, in its two largest units of years
// (365 days), months (30 days), days, hours, minutes and seconds: "2 years
// 7 months", "6 minutes 40 seconds".
func roughDuration(d time.Duration) string {
	units := []struct {
		name string
		size time.Duration
	}{
		{"year", 365 * 24 * time.Hour}, {"month", 30 * 24 * time.Hour}, {"day", 24 * time.Hour},
		{"hour", time.Hour}, {"minute", time.Minute}, {"second", time.Second},
	}
	var parts []string
	for _, u := range units {
		n := d / u.size
		if n == 0 && len(parts) == 0 {
			continue
		}
		if n > 0 {
			name := u.name
			if n > 1 {
				name += "s"
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, name))
		}
		d -= n * u.size
		if len(parts) == 2 || (len(parts) == 1 && n == 0) {
			break
		}
	}
	if len(parts) == 0 {
		return "0 seconds"
	}
	return strings.Join(parts, " ")
}
