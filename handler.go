package csmsg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// HandlerFunc handles one verified, decrypted push. Its context is the
// request's: WeChat gives up on an answer after 5 seconds and retries, so do
// slow work elsewhere (reply later with the customer-service send API).
//
// A nil *Reply answers "success". An error answers 500, so that WeChat
// retries the push; a retry of a push that succeeded gets the same answer
// without calling the HandlerFunc again (see [Deduper]).
type HandlerFunc func(ctx context.Context, msg Message) (*Reply, error)

// Handler returns an http.Handler for the mini program's push URL:
//
//   - GET verifies the URL (see [Receiver.VerifyURL]) and answers the echostr;
//     a bad or stale signature is 401.
//   - POST verifies, decrypts and parses the push (see [Receiver.Parse]) and
//     calls fn with it. A body over MaxBodyBytes is 413; a bad or stale
//     signature 401; a body that does not parse or decrypt, a wrong appid,
//     or an encrypted body at a receiver without a key 400. Then fn's reply
//     is written, "success" for a nil one, or 500 if fn fails.
//   - A refusal's body is the status text and what the sender can see for
//     itself ("Unauthorized: invalid signature", "Unauthorized: timestamp
//     outside the allowed window", "Bad Request: encrypted push, and the
//     receiver has no EncodingAESKey"); every failure to decrypt a
//     correctly signed push answers "Bad Request: cannot decrypt", so that
//     the answers are no oracle. Config.Logger gets the cause in words,
//     with the Config field to check.
//   - Any other method is 405.
//
// Each push is handled once, with Config.Dedup: a retry of a push that was
// handled gets the first attempt's answer ("success", or the reply,
// encrypted afresh for the retry) without calling fn; a retry that arrives
// while an earlier attempt is running waits for its answer, and handles the
// push itself if that attempt fails, panics or its instance dies. A retry
// that gives up waiting is answered 503. If the dedup store fails, the push
// is handled anyway and the failure logged: a duplicate is better than a
// lost message.
//
// A nil fn answers every verified push "success".
func (r *Receiver) Handler(fn HandlerFunc) http.Handler {
	if fn == nil {
		fn = func(context.Context, Message) (*Reply, error) { return nil, nil }
	}
	return &handler{r: r, fn: fn}
}

type handler struct {
	r  *Receiver
	fn HandlerFunc
}

func (h *handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.Method {
	case http.MethodGet:
		echostr, err := h.r.VerifyURL(req.URL.Query())
		if err != nil {
			h.fail(w, req, err)
			return
		}
		writeText(w, echostr)
	case http.MethodPost:
		h.post(w, req)
	default:
		w.Header().Set("Allow", "GET, POST")
		h.fail(w, req, errMethod)
	}
}

var errMethod = errors.New("csmsg: method not allowed")

func (h *handler) post(w http.ResponseWriter, req *http.Request) {
	msg, body, err := h.r.parseRequest(req)
	if err != nil {
		if errors.Is(err, ErrInvalidSignature) || errors.Is(err, ErrExpired) || errors.Is(err, ErrBodyTooLarge) {
			// The body may be unread: close the connection rather than
			// let net/http drain it before the answer goes out.
			w.Header().Set("Connection", "close")
		}
		h.fail(w, req, err)
		return
	}
	if h.r.dedup == nil {
		h.handle(w, req, body, msg, nil)
		return
	}
	ctx := req.Context()
	c := &claim{d: h.r.dedup, key: DedupKey(msg), owner: newOwner()}
	answer, done, err := c.d.Acquire(ctx, c.key, c.owner)
	switch {
	case err != nil && ctx.Err() != nil:
		h.fail(w, req, fmt.Errorf("%w: %w", errWaiting, err))
	case err != nil:
		// A duplicate is better than a lost push: handle it unclaimed.
		h.log(ctx, slog.LevelError, req, 0, fmt.Errorf("%w: handling the push without deduplication: %w", errDedupStore, err))
		h.handle(w, req, body, msg, nil)
	case done:
		h.answer(w, req, body, answer)
	default:
		h.handle(w, req, body, msg, c)
	}
}

// dedupRenewInterval is DedupRenewInterval, which tests shorten.
var dedupRenewInterval = DedupRenewInterval

var (
	errWaiting    = errors.New("csmsg: waiting for an earlier attempt at the push")
	errDedupStore = errors.New("csmsg: the dedup store failed")
)

// claim is an attempt's claim on a push in the dedup store.
type claim struct {
	d          Deduper
	key, owner string
}

// dedupCallTimeout bounds a Complete or Release, so that a hanging store
// cannot hold an answer back; tests shorten it.
var dedupCallTimeout = 2 * time.Second

// The calls on a held claim. Each runs on the request's context, not
// cancelled with the request (the outcome is recorded even if WeChat hung
// up) but bounded, so that a hanging store cannot hold the answer back.

func (c *claim) extend(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dedupRenewInterval)
	defer cancel()
	return c.d.Extend(ctx, c.key, c.owner)
}

func (c *claim) complete(ctx context.Context, answer []byte) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dedupCallTimeout)
	defer cancel()
	return c.d.Complete(ctx, c.key, c.owner, answer)
}

func (c *claim) release(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dedupCallTimeout)
	defer cancel()
	return c.d.Release(ctx, c.key, c.owner)
}

// newOwner returns a token unique to one attempt.
func newOwner() string {
	var b [16]byte
	rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

// keepAlive extends c every DedupRenewInterval until the returned stop is
// called (stop may be called more than once), logging a claim that was
// lost.
func (h *handler) keepAlive(ctx context.Context, req *http.Request, c *claim) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(dedupRenewInterval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if err := c.extend(ctx); err != nil {
					h.log(ctx, slog.LevelWarn, req, 0, fmt.Errorf("%w: extending the claim of a HandlerFunc still running: %w", errDedupStore, err))
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-finished
		})
	}
}

// handle calls fn and answers with its reply. With a claim, it keeps the
// claim alive while fn runs, completes it with the encoded reply, or
// releases it when fn fails or panics, so that a retry handles the push.
func (h *handler) handle(w http.ResponseWriter, req *http.Request, body []byte, msg Message, c *claim) {
	ctx := req.Context()
	if c != nil {
		settled := false
		stop := h.keepAlive(ctx, req, c)
		defer func() { // also when fn panics
			stop()
			if !settled {
				if err := c.release(ctx); err != nil {
					h.log(ctx, slog.LevelError, req, 0, fmt.Errorf("%w: releasing a claim: %w", errDedupStore, err))
				}
			}
		}()
		answer, ok := h.run(w, req, body, msg)
		if !ok {
			return
		}
		stop() // no extension after the claim is complete
		if err := c.complete(ctx, answer); err != nil {
			h.log(ctx, slog.LevelError, req, 0, fmt.Errorf("%w: recording the answer: %w", errDedupStore, err))
		}
		settled = true
		h.answer(w, req, body, answer)
		return
	}
	if answer, ok := h.run(w, req, body, msg); ok {
		h.answer(w, req, body, answer)
	}
}

// run calls fn and encodes its reply, the answer to keep: nil for
// "success". On failure it answers the error and reports false.
func (h *handler) run(w http.ResponseWriter, req *http.Request, body []byte, msg Message) ([]byte, bool) {
	reply, err := h.fn(req.Context(), msg)
	if err != nil {
		h.fail(w, req, fmt.Errorf("%w: %w", errHandlerFunc, err))
		return nil, false
	}
	answer, err := h.r.encodeReply(body, reply)
	if err != nil {
		h.fail(w, req, err)
		return nil, false
	}
	return answer, true
}

// answer writes an answer of this push: for this request's nonce, and
// encrypted afresh when the push was.
func (h *handler) answer(w http.ResponseWriter, req *http.Request, body, answer []byte) {
	out, contentType, err := h.r.wrapAnswer(req.URL.Query(), body, answer)
	if err != nil {
		h.fail(w, req, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	if contentType == contentTypeText {
		w.Header().Set("X-Content-Type-Options", "nosniff")
	}
	w.Write(out)
}

var errHandlerFunc = errors.New("csmsg: the HandlerFunc failed")

// writeText answers 200 with a plain-text body.
func writeText(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", contentTypeText)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write([]byte(s))
}

// statusOf maps an error of the receiver to the status the Handler answers.
func statusOf(err error) int {
	switch {
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed
	case errors.Is(err, ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrInvalidSignature), errors.Is(err, ErrExpired):
		return http.StatusUnauthorized
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrUnknownFormat), errors.Is(err, ErrEncrypted),
		errors.Is(err, ErrDecrypt), errors.Is(err, ErrAppIDMismatch):
		return http.StatusBadRequest
	case errors.Is(err, errWaiting):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fail answers err's status, with the status text and the cause a sender
// may see as the body (see cause.go), and logs err.
func (h *handler) fail(w http.ResponseWriter, req *http.Request, err error) {
	status := statusOf(err)
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	h.log(req.Context(), level, req, status, err)
	http.Error(w, answerText(status, err), status)
}

// log reports a failure to Config.Logger, if set: with the status
// answered, unless it is 0 (a failure that did not decide the answer).
func (h *handler) log(ctx context.Context, level slog.Level, req *http.Request, status int, err error) {
	if h.r.logger == nil {
		return
	}
	attrs := []slog.Attr{slog.String("method", req.Method), slog.String("path", req.URL.Path)}
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	msg := "csmsg: push not handled"
	if status == 0 {
		msg = "csmsg: dedup store failure"
	}
	if c := causeOf(err); c != nil {
		attrs = append(attrs, slog.String("cause", c.log))
	}
	h.r.logger.LogAttrs(ctx, level, msg, append(attrs, slog.Any("err", err))...)
}
