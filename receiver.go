package csmsg

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/csmsg/csmsg/internal/wxcrypto"
)

// Defaults of a Config's zero fields.
const (
	DefaultTolerance    = 5 * time.Minute
	DefaultMaxBodyBytes = 1 << 20
)

// Config configures a [Receiver]. Only Token is required; set
// EncodingAESKey and AppID for compatible and safe mode. The zero value of
// every other field is a safe default.
type Config struct {
	// Token is the Token set in the mini program's message-push settings.
	Token string

	// EncodingAESKey is the 43-character key set beside the Token, for
	// compatible and safe mode (兼容模式, 安全模式). Leave it empty in
	// plaintext mode (明文模式). With a key, the receiver accepts only
	// encrypted pushes.
	EncodingAESKey string

	// AppID is the appid every decrypted payload must end with: the mini
	// program's appid, or, for a third-party platform receiving on its
	// behalf, the platform's own. Required with a key.
	AppID string

	// PreviousEncodingAESKey, if set, is still accepted for decryption, so
	// that no push is lost while the admin changes the key. Replies are
	// always encrypted with EncodingAESKey.
	PreviousEncodingAESKey string

	// Tolerance is how far a request's timestamp may be from the
	// receiver's clock, either way: 0 means DefaultTolerance (5 minutes);
	// a negative value disables the check.
	Tolerance time.Duration

	// Now is the receiver's clock; nil means time.Now.
	Now func() time.Time

	// Rand supplies the 16 random bytes of each encryption; nil means
	// crypto/rand. Tests set it to reproduce a ciphertext. It must be safe
	// for concurrent use, as the Handler encrypts answers concurrently.
	Rand io.Reader

	// MaxBodyBytes bounds a push body: 0 means DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64

	// Dedup remembers which pushes the Handler has handled, so that
	// WeChat's retries, and replays of a captured push while its signature
	// is accepted, are not handled twice: nil means a [MemoryDedup] with
	// its defaults, which suits a backend of one instance. A backend of
	// several instances should share one store across them.
	Dedup Deduper

	// DisableDedup turns deduplication off: every retry, and every replay
	// within Tolerance, calls the HandlerFunc again.
	DisableDedup bool

	// Logger receives a line for each push the Handler refuses or fails,
	// with its cause in words and the field to check; nil means nothing is
	// logged. No line holds the Token, a key or a body.
	Logger *slog.Logger
}

// Receiver verifies, decrypts and parses the pushes of one mini program
// (or of one third-party platform). It is safe for concurrent use, and
// needs no Close: the loop that renews its dedup claims runs only while
// a HandlerFunc does.
//
// What it can and cannot vouch for is in the package documentation's
// Security section: in plaintext mode the signature covers the query, not
// the body; in compatible and safe mode AES-CBC carries no MAC, so the
// Token alone lets a captured push be altered.
type Receiver struct {
	token     string
	appID     string
	key, prev *wxcrypto.Key // nil in plaintext mode; prev nil unless rotating
	tolerance time.Duration
	now       func() time.Time
	rand      io.Reader
	maxBody   int64
	dedup     Deduper  // nil when disabled
	renew     *renewer // renews dedup's claims; nil when disabled
	logger    *slog.Logger
}

// NewReceiver checks cfg and returns a Receiver, or an error matching
// [ErrInvalidConfig].
func NewReceiver(cfg Config) (*Receiver, error) {
	r := &Receiver{
		token:     cfg.Token,
		appID:     cfg.AppID,
		tolerance: cfg.Tolerance,
		now:       cfg.Now,
		rand:      cfg.Rand,
		maxBody:   cfg.MaxBodyBytes,
		dedup:     cfg.Dedup,
		logger:    cfg.Logger,
	}
	if r.token == "" {
		return nil, fmt.Errorf("%w: Token is required", ErrInvalidConfig)
	}
	if cfg.EncodingAESKey != "" {
		var err error
		if r.key, err = parseKey("EncodingAESKey", cfg.EncodingAESKey); err != nil {
			return nil, err
		}
		if r.appID == "" {
			return nil, fmt.Errorf("%w: AppID is required with an EncodingAESKey", ErrInvalidConfig)
		}
	}
	if cfg.PreviousEncodingAESKey != "" {
		if r.key == nil {
			return nil, fmt.Errorf("%w: PreviousEncodingAESKey without an EncodingAESKey", ErrInvalidConfig)
		}
		var err error
		if r.prev, err = parseKey("PreviousEncodingAESKey", cfg.PreviousEncodingAESKey); err != nil {
			return nil, err
		}
	}
	if r.maxBody < 0 {
		return nil, fmt.Errorf("%w: negative MaxBodyBytes", ErrInvalidConfig)
	}
	if r.maxBody == 0 {
		r.maxBody = DefaultMaxBodyBytes
	}
	if r.tolerance == 0 {
		r.tolerance = DefaultTolerance
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.rand == nil {
		r.rand = rand.Reader
	}
	switch {
	case cfg.DisableDedup:
		r.dedup = nil
	case r.dedup == nil:
		logger := cfg.Logger
		if logger == nil { // "nothing is logged"
			logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
		r.dedup = &MemoryDedup{Now: r.now, Logger: logger}
	}
	if r.dedup != nil {
		r.renew = &renewer{d: r.dedup, interval: dedupRenewInterval, logger: r.logger}
	}
	return r, nil
}

// VerifyURL checks the GET request WeChat sends when the admin saves the
// push URL, and returns the echostr to answer with, verbatim. A bad
// signature is [ErrInvalidSignature], a stale timestamp [ErrExpired], a
// missing echostr [ErrMalformed].
func (r *Receiver) VerifyURL(query url.Values) (echostr string, err error) {
	if err := r.checkSignature(query, "signature", nil); err != nil {
		return "", err
	}
	echostr = query.Get("echostr")
	if echostr == "" {
		return "", fmt.Errorf("%w: no echostr", ErrMalformed)
	}
	return echostr, nil
}

// Parse verifies and parses one push: query is the request's URL query and
// body its body. It is the framework-agnostic core of [Receiver.Handler]:
// with gin, echo or chi, call r.Parse(req.URL.Query(), body) yourself.
//
// In plaintext mode (no EncodingAESKey) the query's signature is checked and
// the body parsed; an encrypted envelope is [ErrEncrypted]. With a key, the
// request must say encrypt_type=aes and carry a msg_signature over the
// body's Encrypt value; that is checked before anything else is read,
// the payload is decrypted, its appid checked, and the decrypted message
// parsed. The plaintext fields of a compatible-mode body are ignored, since
// nothing signs them.
//
// Before the signature is verified, a push costs one pass of the scanner
// over the envelope and nothing more: an envelope other than the flat body
// WeChat sends is [ErrMalformed] without the reference decoders' work.
//
// The errors match [ErrBodyTooLarge], [ErrInvalidSignature], [ErrExpired],
// [ErrDecrypt], [ErrAppIDMismatch], or those of [Parse].
func (r *Receiver) Parse(query url.Values, body []byte) (Message, error) {
	if int64(len(body)) > r.maxBody {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, r.maxBody)
	}
	if r.key == nil {
		if err := r.checkSignature(query, "signature", nil); err != nil {
			return nil, err
		}
		return r.parsePlaintext(body)
	}
	return r.parseEncrypted(query, body)
}

// ParseRequest is [Receiver.Parse] of an *http.Request. It reads at most
// MaxBodyBytes of the body; a longer one is [ErrBodyTooLarge]. In plaintext
// mode it checks the query's signature before it reads the body at all.
func (r *Receiver) ParseRequest(req *http.Request) (Message, error) {
	msg, _, err := r.parseRequest(req, req.URL.Query())
	return msg, err
}

// parseRequest verifies, reads and parses a push request whose URL query
// is query, in the order that costs an unauthenticated sender least, and
// returns the body too.
func (r *Receiver) parseRequest(req *http.Request, query url.Values) (Message, []byte, error) {
	if r.key == nil {
		if err := r.checkSignature(query, "signature", nil); err != nil {
			return nil, nil, err
		}
	}
	body, err := r.readBody(req)
	if err != nil {
		return nil, nil, err
	}
	var msg Message
	if r.key == nil {
		msg, err = r.parsePlaintext(body)
	} else {
		msg, err = r.parseEncrypted(query, body)
	}
	return msg, body, err
}

// parsePlaintext parses the body of a push whose query is verified.
func (r *Receiver) parsePlaintext(body []byte) (Message, error) {
	msg, err := Parse(body)
	if errors.Is(err, ErrEncrypted) {
		err = fmt.Errorf("%w: set Config.EncodingAESKey to receive compatible and safe mode pushes", ErrEncrypted)
	}
	return msg, err
}

// parseEncrypted checks msg_signature over the body's Encrypt value, then
// decrypts it and parses the message it holds.
func (r *Receiver) parseEncrypted(query url.Values, body []byte) (Message, error) {
	if query.Get("encrypt_type") != "aes" {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSignature, errNotEncrypted)
	}
	encrypt, err := readEnvelope(body)
	if err != nil {
		return nil, err
	}
	if encrypt == nil {
		encrypt = []byte{} // signed as an empty part, not left out
	}
	if err := r.checkSignature(query, "msg_signature", encrypt); err != nil {
		return nil, err
	}
	plain, err := r.decrypt(encrypt)
	if err != nil {
		return nil, err
	}
	msg, err := Parse(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errDecryptedMessage, err)
	}
	return msg, nil
}

// Chunks of readBody: a body of unknown length starts in firstChunk
// bytes, a declared length in at most maxFirstChunk (the declared length
// alone never sizes more), and each later chunk is maxFirstChunk or an
// eighth of the bytes already read, whichever is larger.
const (
	firstChunk    = 512
	maxFirstChunk = 8 << 10
)

// readBody reads req's body, up to MaxBodyBytes, checking the limit as the
// bytes arrive. It holds at any moment at most max(8 KiB, about twice the
// bytes received), and allocates in all at most about 2n + 8 KiB for a body
// of n bytes, chunked or not: the bytes go into chunks that grow with what
// has arrived, joined once at the end (a body that fits its first chunk,
// such as every push WeChat sends with its Content-Length, is read into
// one buffer of its size).
func (r *Receiver) readBody(req *http.Request) ([]byte, error) {
	if req.ContentLength > r.maxBody {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, r.maxBody)
	}
	if req.Body == nil {
		return nil, nil
	}
	limit := r.maxBody
	if limit < math.MaxInt64 {
		limit++ // one byte past MaxBodyBytes tells a longer body
	}
	size := int64(firstChunk)
	if req.ContentLength >= 0 {
		size = min(req.ContentLength+1, maxFirstChunk) // +1: the read that sees the end
	}
	var (
		chunks [][]byte // full chunks, before chunk
		read   int64    // bytes in chunks
	)
	chunk := make([]byte, 0, min(size, limit))
	for {
		if len(chunk) == cap(chunk) {
			if read+int64(len(chunk)) >= limit {
				return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, r.maxBody)
			}
			chunks = append(chunks, chunk)
			read += int64(len(chunk))
			next := max(maxFirstChunk, read/8)
			chunk = make([]byte, 0, min(next, limit-read))
		}
		n, err := req.Body.Read(chunk[len(chunk):cap(chunk)])
		chunk = chunk[:len(chunk)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: reading the body: %w", ErrMalformed, err)
		}
	}
	total := read + int64(len(chunk))
	if total > r.maxBody {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, r.maxBody)
	}
	if chunks == nil {
		return chunk, nil
	}
	body := make([]byte, 0, total)
	for _, c := range chunks {
		body = append(body, c...)
	}
	return append(body, chunk...), nil
}

// queryParam returns the one non-empty value of a signed query parameter.
func queryParam(query url.Values, name string) (string, error) {
	switch v := query[name]; {
	case len(v) == 0 || v[0] == "":
		return "", fmt.Errorf("%w: no %s", ErrInvalidSignature, name)
	case len(v) > 1:
		return "", fmt.Errorf("%w: more than one %s", ErrInvalidSignature, name)
	default:
		return v[0], nil
	}
}

// checkSignature checks the query parameter sigParam, a signature over the
// Token, the timestamp, the nonce and, if not nil, encrypt, and then the
// timestamp's age.
func (r *Receiver) checkSignature(query url.Values, sigParam string, encrypt []byte) error {
	sig, err := queryParam(query, sigParam)
	if err != nil {
		return err
	}
	timestamp, err := queryParam(query, "timestamp")
	if err != nil {
		return err
	}
	nonce, err := queryParam(query, "nonce")
	if err != nil {
		return err
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp is not an integer", ErrInvalidSignature)
	}
	var want [wxcrypto.SignatureLen]byte
	wxcrypto.Sign(&want, r.token, timestamp, nonce, encrypt)
	if !wxcrypto.SignatureEqual(&want, sig) {
		return fmt.Errorf("%w: %s does not match", ErrInvalidSignature, sigParam)
	}
	if r.tolerance > 0 {
		// Whole seconds on both sides; Sub saturates, so no timestamp overflows.
		now := time.Unix(r.now().Unix(), 0)
		if d := time.Unix(ts, 0).Sub(now); d > r.tolerance || d < -r.tolerance {
			return fmt.Errorf("%w: %s", ErrExpired, describeSkew(ts, d, r.tolerance))
		}
	}
	return nil
}

// readEnvelope reads the Encrypt value of a push body, before anything is
// verified, with the scanner alone: WeChat's envelope is flat, and what the
// scanner does not take (comments, a prolog, deep nesting, any syntax
// error) is ErrMalformed, not work for the reference decoders. The value
// is a slice of body when the scanner finds it there as is.
func readEnvelope(body []byte) (encrypt []byte, err error) {
	f, err := sniff(body)
	if err != nil {
		return nil, err
	}
	fs := fields{src: body}
	if !scan(f, &fs) {
		return nil, fmt.Errorf("%w: not the flat %v envelope WeChat sends", ErrMalformed, f)
	}
	if fs.bad.has(fEncrypt) {
		return nil, badField(fEncrypt)
	}
	return fs.raw(fEncrypt, f), nil
}
