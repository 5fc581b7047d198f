package csmsg

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
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
//     receiver has no EncodingAESKey"); every failure after the signature
//     of an encrypted push (padding, length, appid, a message that does
//     not parse) answers "Bad Request: cannot decrypt", so that the answers
//     are no oracle. Config.Logger gets the cause in words, with the Config
//     field to check.
//   - Any other method is 405.
//
// Each push is handled once, with Config.Dedup: a retry of a push that was
// handled gets the first attempt's answer ("success", or the reply,
// encrypted afresh for the retry) without calling fn; a retry that arrives
// while an earlier attempt is running waits for its answer, and handles the
// push itself if that attempt fails, panics or its instance dies. A retry
// that gives up waiting is answered 503. A replay of a captured push is
// answered the same way for as long as its signature is accepted: the
// store keeps a handled push until its timestamp plus Config.Tolerance
// plus [RetryWindow]. If the dedup store fails, the push is handled anyway
// and the failure logged: a duplicate is better than a lost message, and
// while the store is down a retry or a replay may run fn again.
//
// While fn runs, its claim is renewed every [DedupRenewInterval] together
// with the other claims the Receiver holds, by one loop that runs only
// while some are held: a push costs no goroutine, timer or channel of its
// own.
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
	query := req.URL.Query()
	msg, body, err := h.r.parseRequest(req, query)
	if err != nil {
		if errors.Is(err, ErrInvalidSignature) || errors.Is(err, ErrExpired) || errors.Is(err, ErrBodyTooLarge) {
			// The body may be unread: close the connection rather than
			// let net/http drain it before the answer goes out.
			w.Header().Set("Connection", "close")
		}
		h.fail(w, req, err)
		return
	}
	p := push{query: query, body: body, msg: msg}
	if h.r.dedup == nil {
		h.handle(w, req, &p)
		return
	}
	ctx := req.Context()
	p.claim, p.keepUntil = Claim{Key: DedupKey(msg), Owner: newOwner()}, h.r.keepUntil(query)
	answer, done, err := h.r.dedup.Acquire(ctx, p.claim.Key, p.claim.Owner, p.keepUntil)
	switch {
	case err != nil && ctx.Err() != nil:
		h.fail(w, req, fmt.Errorf("%w: %w", errWaiting, err))
	case err != nil:
		// A duplicate is better than a lost push: handle it unclaimed.
		h.log(ctx, slog.LevelError, req, 0, fmt.Errorf("%w: handling the push without deduplication: %w", errDedupStore, err))
		h.handle(w, req, &p)
	case done:
		h.answer(w, req, &p, answer)
	default:
		p.claimed = true
		h.handle(w, req, &p)
	}
}

// push is one verified push the Handler answers, and its claim.
type push struct {
	query     url.Values
	body      []byte
	msg       Message
	claim     Claim
	claimed   bool      // the claim is held
	keepUntil time.Time // until when the store keeps the answer
}

// keepUntil returns how long the dedup store must keep a push signed with
// query's timestamp: until a replay of it can no longer pass the signature
// check, on the receiver's clock, and RetryWindow more, for the retries
// signed later and for the clocks of other instances. With no Tolerance
// it is zero: the store keeps the push for its TTL.
func (r *Receiver) keepUntil(query url.Values) time.Time {
	ts, err := strconv.ParseInt(query.Get("timestamp"), 10, 64)
	if err != nil || r.tolerance < 0 {
		return time.Time{}
	}
	return time.Unix(ts, 0).Add(r.tolerance + RetryWindow)
}

var (
	errWaiting    = errors.New("csmsg: waiting for an earlier attempt at the push")
	errDedupStore = errors.New("csmsg: the dedup store failed")
)

// dedupCallTimeout bounds a Complete or Release, so that a hanging store
// cannot hold an answer back; tests shorten it.
var dedupCallTimeout = 2 * time.Second

// settleCtx returns the context of a Complete or Release of a held claim:
// the request's, not cancelled with the request (the outcome is recorded
// even if WeChat hung up) but bounded by dedupCallTimeout, so that a
// hanging store cannot hold the answer back. Call its stop after the call.
func settleCtx(ctx context.Context) *boundedCtx {
	return &boundedCtx{Context: ctx, deadline: time.Now().Add(dedupCallTimeout)}
}

// boundedCtx is a context with parent's values, none of its cancellation,
// and a deadline. Its timer is armed only when a store waits on Done, so
// that a store that answers at once (MemoryDedup) costs no timer.
type boundedCtx struct {
	context.Context // the parent, for its values
	deadline        time.Time

	mu    sync.Mutex
	done  chan struct{} // made by the first Done
	timer *time.Timer
	err   error
}

// Deadline implements context.Context.
func (c *boundedCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Done implements context.Context: a channel closed at the deadline.
func (c *boundedCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		c.timer = time.AfterFunc(time.Until(c.deadline), c.expire)
	}
	return c.done
}

// Err implements context.Context.
func (c *boundedCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil && !time.Now().Before(c.deadline) {
		c.err = context.DeadlineExceeded
	}
	return c.err
}

func (c *boundedCtx) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = context.DeadlineExceeded
	}
	close(c.done)
}

// stop disarms the timer, if Done armed one, once the call returned.
func (c *boundedCtx) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
	}
}

// ownerPrefix makes the owners of this process unlike those of any other;
// ownerSeq tells this process's apart.
var (
	ownerPrefix = func() string {
		var b [12]byte
		rand.Read(b[:]) // never fails
		return base64.RawURLEncoding.EncodeToString(b[:]) + "."
	}()
	ownerSeq atomic.Uint64
)

// newOwner returns a token unique to one attempt, across processes.
func newOwner() string {
	return ownerPrefix + strconv.FormatUint(ownerSeq.Add(1), 36)
}

// handle calls fn and answers with its reply. With a claim, the Receiver
// renews it while fn runs; it is completed with the encoded reply, or
// released when fn fails or panics, so that a retry handles the push.
func (h *handler) handle(w http.ResponseWriter, req *http.Request, p *push) {
	if !p.claimed {
		if answer, ok := h.run(w, req, p); ok {
			h.answer(w, req, p, answer)
		}
		return
	}
	ctx, d := req.Context(), h.r.dedup
	h.r.renew.hold(p.claim)
	settled := false
	defer func() { // also when fn panics
		if settled {
			return
		}
		h.r.renew.drop(p.claim)
		sctx := settleCtx(ctx)
		err := d.Release(sctx, p.claim.Key, p.claim.Owner)
		sctx.stop()
		if err != nil {
			h.log(ctx, slog.LevelError, req, 0, fmt.Errorf("%w: releasing a claim: %w", errDedupStore, err))
		}
	}()
	answer, ok := h.run(w, req, p)
	if !ok {
		return
	}
	settled = true
	h.r.renew.drop(p.claim) // no extension after the claim is complete
	sctx := settleCtx(ctx)
	err := d.Complete(sctx, p.claim.Key, p.claim.Owner, answer, p.keepUntil)
	sctx.stop()
	if err != nil {
		h.log(ctx, slog.LevelError, req, 0, fmt.Errorf("%w: recording the answer: %w", errDedupStore, err))
	}
	h.answer(w, req, p, answer)
}

// run calls fn and encodes its reply, the answer to keep: nil for
// "success". On failure it answers the error and reports false.
func (h *handler) run(w http.ResponseWriter, req *http.Request, p *push) ([]byte, bool) {
	reply, err := h.fn(req.Context(), p.msg)
	if err != nil {
		h.fail(w, req, fmt.Errorf("%w: %w", errHandlerFunc, err))
		return nil, false
	}
	answer, err := h.r.encodeReply(p.body, reply)
	if err != nil {
		h.fail(w, req, err)
		return nil, false
	}
	return answer, true
}

// answer writes an answer of this push: for this request's nonce, and
// encrypted afresh when the push was.
func (h *handler) answer(w http.ResponseWriter, req *http.Request, p *push, answer []byte) {
	if answer == nil {
		writeSuccess(w)
		return
	}
	out, contentType, err := h.r.wrapAnswer(p.query, p.body, answer)
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

// The header values and body of a "success" answer, shared by every
// answer rather than made for each.
var (
	textHeader    = []string{contentTypeText}
	nosniffHeader = []string{"nosniff"}
	successBody   = []byte("success")
)

// writeSuccess answers 200 "success", as writeText does, without
// allocating.
func writeSuccess(w http.ResponseWriter) {
	hdr := w.Header()
	hdr["Content-Type"] = textHeader
	hdr["X-Content-Type-Options"] = nosniffHeader
	w.Write(successBody)
}

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
