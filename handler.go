package csmsg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// HandlerFunc handles one verified, decrypted push. Its context is the
// request's: WeChat gives up on an answer after 5 seconds and retries, so do
// slow work elsewhere (reply later with the customer-service send API).
//
// A nil *Reply answers "success". An error answers 500, so that WeChat
// retries the push; a retry of a push that succeeded is answered without
// calling the HandlerFunc again (see [Deduper]).
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
//   - Any other method is 405.
//
// Retries are deduplicated with Config.Dedup: a push that was handled is
// answered "success" without calling fn; a retry that arrives while an
// earlier attempt is running waits for it, and handles the push itself if
// that attempt fails. A retry that gives up waiting is answered 503.
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
	body, err := h.r.readBody(req)
	if err != nil {
		h.fail(w, req, err)
		return
	}
	msg, err := h.r.Parse(req.URL.Query(), body)
	if err != nil {
		h.fail(w, req, err)
		return
	}
	ctx := req.Context()
	d := h.r.dedup
	if d == nil {
		h.handle(ctx, w, req, body, msg)
		return
	}
	key := DedupKey(msg)
	done, err := d.Acquire(ctx, key)
	if err != nil {
		h.fail(w, req, fmt.Errorf("%w: %w", errWaiting, err))
		return
	}
	if done {
		writeText(w, "success")
		return
	}
	succeeded := false
	defer func() { // also when fn panics
		if err := d.Release(context.WithoutCancel(ctx), key, succeeded); err != nil {
			status := http.StatusOK
			if !succeeded {
				status = http.StatusInternalServerError
			}
			h.log(ctx, slog.LevelError, req, status, fmt.Errorf("csmsg: releasing a dedup key: %w", err))
		}
	}()
	succeeded = h.handle(ctx, w, req, body, msg)
}

var errWaiting = errors.New("csmsg: waiting for an earlier attempt at the push")

// handle calls fn and writes its reply, reporting whether both succeeded.
func (h *handler) handle(ctx context.Context, w http.ResponseWriter, req *http.Request, body []byte, msg Message) bool {
	reply, err := h.fn(ctx, msg)
	if err != nil {
		h.fail(w, req, fmt.Errorf("%w: %w", errHandlerFunc, err))
		return false
	}
	out, contentType, err := h.r.EncodeReply(req.URL.Query(), body, reply)
	if err != nil {
		h.fail(w, req, err)
		return false
	}
	w.Header().Set("Content-Type", contentType)
	if contentType == contentTypeText {
		w.Header().Set("X-Content-Type-Options", "nosniff")
	}
	w.Write(out)
	return true
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

// fail answers err's status, with only the status text as the body, and
// logs err.
func (h *handler) fail(w http.ResponseWriter, req *http.Request, err error) {
	status := statusOf(err)
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	h.log(req.Context(), level, req, status, err)
	http.Error(w, http.StatusText(status), status)
}

// log reports a failure to Config.Logger, if set.
func (h *handler) log(ctx context.Context, level slog.Level, req *http.Request, status int, err error) {
	if h.r.logger == nil {
		return
	}
	h.r.logger.LogAttrs(ctx, level, "csmsg: push not handled",
		slog.String("method", req.Method),
		slog.String("path", req.URL.Path),
		slog.Int("status", status),
		slog.Any("err", err))
}
