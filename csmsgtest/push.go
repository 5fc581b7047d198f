package csmsgtest

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/internal/wxcrypto"
)

// Mode is how a push is protected, as the mini program's admin chose it in
// the message-push settings.
type Mode int

// The three modes of WeChat's message-push settings.
const (
	ModePlaintext  Mode = iota // 明文模式: the body as is, the query signed
	ModeCompatible             // 兼容模式: the plaintext fields and Encrypt in one body
	ModeSafe                   // 安全模式: only ToUserName and Encrypt
)

// Modes returns the three modes, in a fresh slice, for tests that run a
// case in each.
func Modes() []Mode { return []Mode{ModePlaintext, ModeCompatible, ModeSafe} }

// String returns "plaintext", "compatible", "safe", or "Mode(n)".
func (m Mode) String() string {
	switch m {
	case ModePlaintext:
		return "plaintext"
	case ModeCompatible:
		return "compatible"
	case ModeSafe:
		return "safe"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Push is one push as WeChat sends it to a backend's URL: the URL query and
// the POST body.
type Push struct {
	Query url.Values
	Body  []byte
}

// Request returns p as the POST request WeChat would make to target, an
// absolute URL or a path: p's query is added to target's. It is ready for
// an http.Handler's ServeHTTP or for an http.Client (with an absolute
// target).
func (p *Push) Request(target string) (*http.Request, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("csmsgtest: target: %w", err)
	}
	q := u.Query()
	for k, vs := range p.Query {
		q[k] = append(q[k], vs...)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequest(http.MethodPost, u.String(), bytes.NewReader(p.Body))
	if err != nil {
		return nil, fmt.Errorf("csmsgtest: %w", err)
	}
	if u.Host == "" {
		// A path: the request is for a handler's ServeHTTP, which sees
		// what a server would set.
		req.Host = "example.com"
		req.RequestURI = u.RequestURI()
	}
	req.Header.Set("Content-Type", "text/xml")
	if json, _ := isJSON(p.Body); json {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "Mozilla/4.0")
	return req, nil
}

// Sign returns the push WeChat would send for body, a plaintext push (such
// as csmsg.Marshal writes), to a receiver configured with cfg: signed with
// cfg.Token, timestamped with cfg.Now (time.Now if nil), and, in compatible
// and safe mode, encrypted with cfg.EncodingAESKey and cfg.AppID in an
// envelope of the body's format. Random bytes (the nonce, the encryption's
// prefix) come from cfg.Rand, crypto/rand if nil, so a fixed cfg.Rand
// reproduces a push.
//
// A csmsg.Receiver made with cfg accepts the result of a body csmsg.Parse
// accepts. A mode cfg would refuse is an error matching
// csmsg.ErrInvalidConfig: plaintext with an EncodingAESKey set, compatible
// or safe without one. A push whose body, signed and encrypted, is longer
// than cfg.MaxBodyBytes (csmsg.DefaultMaxBodyBytes if 0) is an error
// matching csmsg.ErrBodyTooLarge: encryption makes a body about 1.3 times
// larger in safe mode, 2.3 times in compatible mode. In compatible mode the
// body itself is the envelope, which a receiver reads before it verifies
// anything and so only in WeChat's flat layout: a body with a prolog,
// comments, attributes or deep nesting is an error matching
// csmsg.ErrMalformed.
func Sign(cfg csmsg.Config, mode Mode, body []byte) (*Push, error) {
	if err := checkMode(cfg, mode); err != nil {
		return nil, err
	}
	json, err := isJSON(body)
	if err != nil {
		return nil, err
	}
	s, err := newSigner(cfg)
	if err != nil {
		return nil, err
	}
	var h csmsg.Header
	msg, parseErr := csmsg.Parse(body)
	if parseErr == nil {
		h = *msg.MsgHeader()
	}
	var n [4]byte
	if _, err := io.ReadFull(s.rand, n[:]); err != nil {
		return nil, fmt.Errorf("csmsgtest: reading random bytes: %w", err)
	}
	timestamp := strconv.FormatInt(s.now().Unix(), 10)
	nonce := strconv.FormatUint(uint64(binary.BigEndian.Uint32(n[:])), 10)
	p := &Push{Query: url.Values{
		"signature": {wxcrypto.Signature(cfg.Token, timestamp, nonce)},
		"timestamp": {timestamp},
		"nonce":     {nonce},
	}}
	if mode == ModePlaintext {
		p.Body = bytes.Clone(body)
	} else if err := s.encrypt(p, mode, body, json, h); err != nil {
		return nil, err
	}
	if err := s.checkSize(mode, body, p.Body); err != nil {
		return nil, err
	}
	if mode == ModeCompatible && parseErr == nil {
		if err := s.checkCompatible(p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// encrypt makes p, whose query is signed, the compatible or safe-mode push
// of body, whose header is h: it encrypts body, signs the result into the
// query, and writes the envelope.
func (s *signer) encrypt(p *Push, mode Mode, body []byte, json bool, h csmsg.Header) error {
	encrypt, err := s.key.Seal(s.rand, body, s.appID)
	if errors.Is(err, wxcrypto.ErrTooLong) {
		return fmt.Errorf("%w: csmsgtest: %w", csmsg.ErrInvalidMessage, err)
	} else if err != nil {
		return fmt.Errorf("csmsgtest: %w", err)
	}
	p.Query.Set("encrypt_type", "aes")
	p.Query.Set("msg_signature", wxcrypto.Signature(s.token, p.Query.Get("timestamp"), p.Query.Get("nonce"), encrypt))
	p.Query.Set("openid", h.FromUserName)
	if mode == ModeSafe {
		if p.Body, err = wxcrypto.AppendPush(nil, json, h.ToUserName, encrypt); err != nil {
			return fmt.Errorf("%w: csmsgtest: %w", csmsg.ErrInvalidMessage, err)
		}
		return nil
	}
	if p.Body, err = wxcrypto.AddEncrypt(body, json, encrypt); err != nil {
		return fmt.Errorf("%w: csmsgtest: %w", csmsg.ErrMalformed, err)
	}
	return nil
}

// checkSize refuses a push whose signed body the receiver would refuse
// for its size.
func (s *signer) checkSize(mode Mode, body, signed []byte) error {
	if int64(len(signed)) > s.maxBody {
		return fmt.Errorf("%w: csmsgtest: the %v-mode push of a %d-byte body is %d bytes, more than MaxBodyBytes (%d)",
			csmsg.ErrBodyTooLarge, mode, len(body), len(signed), s.maxBody)
	}
	return nil
}

// checkCompatible refuses a compatible-mode push the receiver would refuse
// although its body parses: a receiver reads the body's Encrypt before it
// verifies anything, from WeChat's flat layout only.
func (s *signer) checkCompatible(p *Push) error {
	_, err := s.r.Parse(p.Query, p.Body)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, csmsg.ErrMalformed):
		return fmt.Errorf("%w: csmsgtest: compatible mode needs a flat body, as WeChat sends (no prolog, comments, attributes or deep nesting)", err)
	}
	return fmt.Errorf("csmsgtest: a receiver refuses the compatible-mode push: %w", err)
}

// SignMessage is [Sign] of msg written by csmsg.Marshal in format f.
func SignMessage(cfg csmsg.Config, mode Mode, msg csmsg.Message, f csmsg.Format) (*Push, error) {
	body, err := csmsg.Marshal(msg, f)
	if err != nil {
		return nil, err
	}
	return Sign(cfg, mode, body)
}

// NewRequest is [SignMessage] followed by [Push.Request]: the request
// WeChat would make to target to push msg in format f and mode.
func NewRequest(target string, cfg csmsg.Config, mode Mode, msg csmsg.Message, f csmsg.Format) (*http.Request, error) {
	p, err := SignMessage(cfg, mode, msg, f)
	if err != nil {
		return nil, err
	}
	return p.Request(target)
}

// VerifyURL returns the query of the GET request WeChat sends when the
// admin saves the push URL: signed with cfg.Token and carrying echostr,
// which the receiver must answer verbatim.
func VerifyURL(cfg csmsg.Config, echostr string) (url.Values, error) {
	if cfg.Token == "" {
		return nil, fmt.Errorf("%w: Token is required", csmsg.ErrInvalidConfig)
	}
	s, err := newSigner(cfg)
	if err != nil {
		return nil, err
	}
	var n [4]byte
	if _, err := io.ReadFull(s.rand, n[:]); err != nil {
		return nil, fmt.Errorf("csmsgtest: reading random bytes: %w", err)
	}
	timestamp := strconv.FormatInt(s.now().Unix(), 10)
	nonce := strconv.FormatUint(uint64(binary.BigEndian.Uint32(n[:])), 10)
	return url.Values{
		"signature": {wxcrypto.Signature(cfg.Token, timestamp, nonce)},
		"timestamp": {timestamp},
		"nonce":     {nonce},
		"echostr":   {echostr},
	}, nil
}

// checkMode refuses a mode cfg's receiver would refuse.
func checkMode(cfg csmsg.Config, mode Mode) error {
	switch {
	case mode < ModePlaintext || mode > ModeSafe:
		return fmt.Errorf("%w: csmsgtest: unknown %v", csmsg.ErrInvalidConfig, mode)
	case mode == ModePlaintext && cfg.EncodingAESKey != "":
		return fmt.Errorf("%w: csmsgtest: a receiver with an EncodingAESKey refuses plaintext pushes", csmsg.ErrInvalidConfig)
	case mode != ModePlaintext && cfg.EncodingAESKey == "":
		return fmt.Errorf("%w: csmsgtest: %v mode needs Config.EncodingAESKey", csmsg.ErrInvalidConfig, mode)
	}
	return nil
}

// signer holds what signing takes from a Config: a receiver made with it,
// to check a compatible-mode push, the Token, the key (nil in plaintext
// mode) and AppID, the clock, the random bytes and the bound on a body.
type signer struct {
	r       *csmsg.Receiver
	token   string
	key     *wxcrypto.Key
	appID   string
	rand    io.Reader
	now     func() time.Time
	maxBody int64
}

func newSigner(cfg csmsg.Config) (*signer, error) {
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.DisableDedup = true          // the receiver only parses
	r, err := csmsg.NewReceiver(cfg) // checks cfg as a receiver would
	if err != nil {
		return nil, err
	}
	s := &signer{r: r, token: cfg.Token, appID: cfg.AppID, rand: cfg.Rand, now: cfg.Now, maxBody: cfg.MaxBodyBytes}
	if s.maxBody == 0 {
		s.maxBody = csmsg.DefaultMaxBodyBytes
	}
	if cfg.EncodingAESKey != "" {
		if s.key, err = wxcrypto.ParseKey(cfg.EncodingAESKey); err != nil {
			return nil, fmt.Errorf("%w: csmsgtest: EncodingAESKey %w", csmsg.ErrInvalidConfig, err)
		}
	}
	return s, nil
}

// isJSON reports whether body is a JSON push rather than XML, as csmsg.Parse
// tells them apart; a body of neither format is csmsg.ErrUnknownFormat.
func isJSON(body []byte) (bool, error) {
	rest := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\uFEFF")), " \t\r\n")
	switch {
	case bytes.HasPrefix(rest, []byte("{")):
		return true, nil
	case bytes.HasPrefix(rest, []byte("<")):
		return false, nil
	}
	return false, fmt.Errorf("%w: csmsgtest: a push body starts with '<' or '{'", csmsg.ErrUnknownFormat)
}
