package csmsgtest

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/internal/wxcrypto"
)

// Errors of [OpenAnswer], one per way an answer fails WeChat's reading of
// it. A failure of the encrypted reply itself matches csmsg's sentinels
// instead: csmsg.ErrInvalidSignature (MsgSignature), csmsg.ErrDecrypt,
// csmsg.ErrAppIDMismatch, csmsg.ErrMalformed (an envelope or a reply that
// does not read).
var (
	// ErrAnswerStatus means the answer's status is not 200: WeChat retries.
	ErrAnswerStatus = errors.New("csmsgtest: answer refused")

	// ErrAnswerBody means the body is neither "success", empty, nor a
	// passive reply (XML or JSON).
	ErrAnswerBody = errors.New("csmsgtest: answer is neither \"success\", empty, nor a passive reply")

	// ErrReplyFormat means the passive reply is in the other format than
	// the push's.
	ErrReplyFormat = errors.New("csmsgtest: passive reply in the wrong format")

	// ErrReplyEncryption means the passive reply is in plaintext to an
	// encrypted push, or encrypted to a plaintext one.
	ErrReplyEncryption = errors.New("csmsgtest: passive reply encrypted unlike the push")

	// ErrReplyType means the passive reply's MsgType is not
	// transfer_customer_service, the one a mini program can answer.
	ErrReplyType = errors.New("csmsgtest: passive reply of the wrong MsgType")

	// ErrReplyNotAllowed means a passive reply to a push that takes none:
	// an event, or a push that is not a message.
	ErrReplyNotAllowed = errors.New("csmsgtest: passive reply to a push that takes none")

	// ErrReplyAddress means the passive reply's ToUserName is not the
	// push's FromUserName (the user) or its FromUserName not the push's
	// ToUserName (the mini program).
	ErrReplyAddress = errors.New("csmsgtest: passive reply wrongly addressed")
)

// transferMsgType is the MsgType of the one passive reply.
const transferMsgType = "transfer_customer_service"

// OpenAnswer checks a backend's answer to push, a push that [Sign] built
// with cfg, the way WeChat reads it: status 200, and a body of "success",
// nothing, or a passive reply in the push's format. A reply to an encrypted
// push must be the envelope of Encrypt, MsgSignature, TimeStamp and Nonce,
// signed with cfg.Token and encrypted with cfg.EncodingAESKey for
// cfg.AppID; it must be transfer_customer_service, to a message (not an
// event), from the push's ToUserName to its FromUserName, with a
// CreateTime.
//
// It returns the reply, which equals csmsg.Transfer of the pushed message,
// or nil for "success" and an empty body. Each failure has its error: see
// [ErrAnswerStatus] and those after it.
func OpenAnswer(cfg csmsg.Config, push *Push, status int, body []byte) (*csmsg.Reply, error) {
	if status != http.StatusOK {
		return nil, fmt.Errorf("%w: status %d %s, not 200", ErrAnswerStatus, status, http.StatusText(status))
	}
	body = bytes.TrimSpace(body)
	switch {
	case len(body) == 0 || string(body) == "success":
		return nil, nil
	case body[0] != '<' && body[0] != '{':
		return nil, fmt.Errorf("%w: starts with %q", ErrAnswerBody, firstRunes(body, 20))
	}
	pushJSON, err := isJSON(push.Body)
	if err != nil {
		return nil, err
	}
	if json := body[0] == '{'; json != pushJSON {
		return nil, fmt.Errorf("%w: passive reply in %s, but the push was %s", ErrReplyFormat, formatName(json), formatName(pushJSON))
	}
	encrypted := push.Query.Get("encrypt_type") == "aes"
	r, err := pushReceiver(cfg, encrypted)
	if err != nil {
		return nil, err
	}
	plain := body
	if encrypted {
		if plain, err = openReply(cfg, body); err != nil {
			return nil, err
		}
	}
	reply, err := csmsg.Parse(plain)
	switch {
	case errors.Is(err, csmsg.ErrEncrypted):
		return nil, fmt.Errorf("%w: passive reply is encrypted, but the push was plaintext", ErrReplyEncryption)
	case err != nil:
		return nil, fmt.Errorf("csmsgtest: passive reply: %w", err)
	}
	pushed, _ := r.Parse(push.Query, push.Body) // nil: not a message
	return checkReply(pushed, reply.MsgHeader())
}

// pushReceiver returns a receiver that reads a push built with cfg, at any
// age: encrypted or not, as the push was.
func pushReceiver(cfg csmsg.Config, encrypted bool) (*csmsg.Receiver, error) {
	if !encrypted {
		cfg.EncodingAESKey, cfg.PreviousEncodingAESKey, cfg.AppID = "", "", ""
	} else if cfg.EncodingAESKey == "" {
		return nil, fmt.Errorf("%w: csmsgtest: the push is encrypted and the Config has no EncodingAESKey", csmsg.ErrInvalidConfig)
	}
	cfg.Tolerance, cfg.DisableDedup = -1, true
	return csmsg.NewReceiver(cfg)
}

// openReply checks and decrypts the envelope of an encrypted reply.
func openReply(cfg csmsg.Config, body []byte) ([]byte, error) {
	env, err := wxcrypto.ReadReply(body)
	if err != nil {
		return nil, fmt.Errorf("%w: csmsgtest: encrypted reply: %w", csmsg.ErrMalformed, err)
	}
	if env.Encrypt == "" {
		return nil, fmt.Errorf("%w: passive reply is not encrypted, but the push was", ErrReplyEncryption)
	}
	key, err := wxcrypto.ParseKey(cfg.EncodingAESKey)
	if err != nil {
		return nil, fmt.Errorf("%w: csmsgtest: EncodingAESKey %w", csmsg.ErrInvalidConfig, err)
	}
	plain, err := env.Open(key, cfg.Token, cfg.AppID)
	switch {
	case err == nil:
		return plain, nil
	case errors.Is(err, wxcrypto.ErrSignature):
		return nil, fmt.Errorf("%w: csmsgtest: encrypted reply: %w", csmsg.ErrInvalidSignature, err)
	case errors.Is(err, wxcrypto.ErrAppIDMismatch):
		return nil, fmt.Errorf("%w: csmsgtest: encrypted reply", csmsg.ErrAppIDMismatch)
	case errors.Is(err, wxcrypto.ErrDecrypt):
		return nil, fmt.Errorf("%w: csmsgtest: encrypted reply: %w", csmsg.ErrDecrypt, err)
	}
	return nil, fmt.Errorf("%w: csmsgtest: encrypted reply: %w", csmsg.ErrMalformed, err)
}

// checkReply checks the header of a passive reply to pushed, nil if the
// push is not a message, and returns the reply.
func checkReply(pushed csmsg.Message, h *csmsg.Header) (*csmsg.Reply, error) {
	want := csmsg.Transfer(pushed) // nil for an event or a non-message
	switch {
	case h.MsgType != transferMsgType:
		return nil, fmt.Errorf("%w: passive reply of MsgType %q: a mini program can only answer %s", ErrReplyType, h.MsgType, transferMsgType)
	case pushed == nil:
		return nil, fmt.Errorf("%w: passive reply to a push that is not a message", ErrReplyNotAllowed)
	case want == nil:
		return nil, fmt.Errorf("%w: passive reply %s to an event: only a user's message can be transferred", ErrReplyNotAllowed, transferMsgType)
	}
	p := pushed.MsgHeader()
	switch {
	case h.ToUserName != p.FromUserName:
		return nil, fmt.Errorf("%w: passive reply addressed to %q, not to the user %q (ToUserName must be the sender's openid)", ErrReplyAddress, h.ToUserName, p.FromUserName)
	case h.FromUserName != p.ToUserName:
		return nil, fmt.Errorf("%w: passive reply from %q, not from the mini program %q (FromUserName must be the push's ToUserName)", ErrReplyAddress, h.FromUserName, p.ToUserName)
	case h.CreateTime == 0:
		return nil, fmt.Errorf("%w: csmsgtest: passive reply without a CreateTime", csmsg.ErrMalformed)
	}
	return want, nil
}

// formatName names a body's format.
func formatName(json bool) string {
	if json {
		return "json"
	}
	return "xml"
}

// firstRunes returns at most n runes of b, for an error message.
func firstRunes(b []byte, n int) string {
	s := []rune(string(b))
	if len(s) > n {
		return string(s[:n]) + "..."
	}
	return string(s)
}
