package kftest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/csmsg/csmsg/internal/kfwire"
	"github.com/csmsg/csmsg/kf"
)

// Paths the Handler serves.
const (
	PathStableToken = kfwire.PathStableToken
	PathToken       = kfwire.PathToken
	PathSend        = kfwire.PathSend
	PathTyping      = kfwire.PathTyping
	PathUpload      = kfwire.PathUpload
	PathGetMedia    = kfwire.PathGetMedia
)

// Limits of the Handler.
const (
	// DefaultTokenTTL is how long an access token lives, as at WeChat.
	DefaultTokenTTL = 7200 * time.Second

	// MediaTTL is how long a temporary media lives, as at WeChat.
	MediaTTL = 72 * time.Hour

	// MaxTextBytes bounds text.content: longer is errcode 45002. WeChat
	// documents no figure; this is the Handler's.
	MaxTextBytes = 2048

	// MaxMediaBytes bounds an upload: longer is errcode 40006.
	MaxMediaBytes = 10 << 20

	// maxJSONBody bounds a JSON request body.
	maxJSONBody = 1 << 20
)

// Handler is an offline fake of WeChat's customer-service API, an
// http.Handler: serve it (NewServer does) and point a client's BaseURL at
// it. It serves, with WeChat's validation and errcodes:
//
//   - POST /cgi-bin/stable_token: stable access tokens for the appid and
//     secret given to NewHandler (40013, 40125 otherwise; 41002, 41004 if
//     missing; 40002 for another grant_type). In normal mode it answers the
//     current token while it is valid, with the seconds it has left as
//     expires_in, and a new one once it has expired. force_refresh gives a
//     new token and revokes the previous one at once, as the spec says
//     ("invalidates the previous token for everyone"): it then answers
//     40001, so a client that keeps using it is caught.
//   - GET /cgi-bin/token always answers errcode 48001 and is counted
//     (Calls(PathToken)): its tokens replace each other across instances,
//     so a test that sees it called has found a bug.
//   - POST /cgi-bin/message/custom/send and /cgi-bin/message/custom/typing,
//     with the reply window of the declared users.
//   - POST /cgi-bin/media/upload (type=image, a file part "media" whose
//     bytes sniff as an image) and GET /cgi-bin/media/get.
//
// # Access tokens
//
// Every call but stable_token needs access_token in its query: missing is
// 41001, unknown or revoked 40001, expired 42001. ExpireTokens expires all
// at once; SetTokenTTL shortens their life.
//
// # Users and the reply window
//
// The Handler knows the users the test declares: UserMessage records that
// a user sent a message (5 replies within 48 hours), UserEnteredSession
// that the user entered the chat (2 replies within 1 minute); each action
// resets the quota. A send to an openid never declared is 40003 (invalid
// openid): the Handler cannot tell a real user from a typo, so declare
// every user a test writes to. A declared user whose window is closed gets
// 45015, one whose quota is used up 45047. Typing is allowed within 30 s of
// a message between the user and the service (a user's message or a send;
// entering the chat is not a message) and otherwise answers 45015; a
// status lasts 15 s, and Typing again meanwhile answers 45015 too (WeChat
// documents the rule, not its code). A send cancels typing. Window returns
// a user's window.
//
// # Send validation
//
// A body that is not a JSON object of the documented shape is 47001, an
// unknown msgtype 40008, the msgtype's object missing 47001, an empty
// text.content 44004, one longer than MaxTextBytes 45002, an image
// media_id or miniprogrampage thumb_media_id the Handler did not issue (or
// older than 3 days) 40007, an empty or undeclared touser 40003.
//
// # Media
//
// An upload needs type=image (else 40004) and a file part named "media"
// (else 41005) of at most MaxMediaBytes (else 40006) whose bytes sniff as
// an image (else 40005); it answers a media id that lives 3 days. AddMedia
// stores a file as if a user had sent it, Media reads one. A get answers
// the bytes with the Content-Type sniffed at upload (or given to AddMedia)
// and a Content-Disposition; an unknown or expired media id answers
// {"errcode":40007,...} labelled text/plain, as WeChat does at times.
//
// # Hooks
//
// InjectError makes the next call to a path answer an errcode; Calls,
// TokenFetches and ForceRefreshes count requests; Sent, Typing and
// WaitSent give what was sent; OnCall observes every call as it is
// answered.
//
// # Clock
//
// The Handler's clock starts at the real time of NewHandler and moves only
// with SetNow and Advance, so window and expiry tests take no real time;
// SetClock makes it read a live clock instead. Everything recorded carries
// the clock's time.
//
// A Handler is safe for concurrent use.
type Handler struct {
	appID, secret string

	mu       sync.Mutex
	now      time.Time        // the clock, when clock is nil
	clock    func() time.Time // a live clock set by SetClock, or nil
	tokenTTL time.Duration
	current  string               // the current stable token
	tokens   map[string]time.Time // every token not revoked: its expiry
	forced   int
	calls    map[string]int
	injected map[string][]int
	users    map[string]*Window
	sent     []SentMessage
	typing   []TypingEvent
	media    map[string]*media
	seq      int
	changed  chan struct{} // closed and replaced when a message is sent
	onCall   []func(Call)
}

// SentMessage is a message a client sent, decoded. Only the field of its
// MsgType is set.
type SentMessage struct {
	ToUser  string             // touser
	MsgType string             // msgtype: "text", "image", "link" or "miniprogrampage"
	Text    string             // text.content
	MediaID string             // image.media_id
	Link    kf.Link            // link
	Card    kf.MiniProgramCard // miniprogrampage
	At      time.Time          // the Handler's clock when it was sent
}

// TypingEvent is a typing command a client sent and the Handler accepted.
type TypingEvent struct {
	ToUser  string    // touser
	Command string    // "Typing" or "CancelTyping"
	At      time.Time // the Handler's clock
}

// Call is one request the Handler answered, as an OnCall hook sees it.
type Call struct {
	Method string    // the request's method
	Path   string    // the request's path: PathSend, ...
	At     time.Time // the Handler's clock when the call came in

	Status  int    // the HTTP status answered
	ErrCode int    // the errcode answered: 0 for a success or a file
	ErrMsg  string // the errmsg answered: "" if the answer had none (a token, a file)

	// Send is the request of a PathSend call, decoded (only the field of
	// its MsgType is set) even if refused, nil if it is not JSON. At is
	// zero.
	Send *SentMessage
	// Typing is the request of a PathTyping call, decoded even if
	// refused, nil if it is not JSON. At is set if it was accepted.
	Typing *TypingEvent
	// MediaID is the media_id in the query, if any: PathGetMedia asks
	// for one.
	MediaID string
	// Window is the reply window of the user a PathSend or PathTyping call
	// went to, after the call; nil for a user never declared.
	Window *Window
}

// media is a stored temporary media.
type media struct {
	data        []byte
	contentType string
	filename    string
	expires     time.Time
}

// NewHandler returns a Handler for the mini program with appID and secret.
func NewHandler(appID, secret string) *Handler {
	return &Handler{
		appID:    appID,
		secret:   secret,
		now:      time.Now(),
		tokenTTL: DefaultTokenTTL,
		tokens:   make(map[string]time.Time),
		calls:    make(map[string]int),
		injected: make(map[string][]int),
		users:    make(map[string]*Window),
		media:    make(map[string]*media),
		changed:  make(chan struct{}),
	}
}

// Now returns the Handler's clock.
func (h *Handler) Now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.nowLocked()
}

// nowLocked returns the clock; h.mu is held.
func (h *Handler) nowLocked() time.Time {
	if h.clock != nil {
		return h.clock()
	}
	return h.now
}

// SetNow sets the Handler's clock to t, which stays until the next SetNow
// or Advance (after a SetClock too).
func (h *Handler) SetNow(t time.Time) {
	h.mu.Lock()
	h.now, h.clock = t, nil
	h.mu.Unlock()
}

// Advance moves the Handler's clock by d: SetNow(Now().Add(d)).
func (h *Handler) Advance(d time.Duration) {
	h.mu.Lock()
	h.now, h.clock = h.nowLocked().Add(d), nil
	h.mu.Unlock()
}

// SetClock makes the Handler read its time from now, a live clock, until
// the next SetNow or Advance; nil goes back to the clock's last reading.
// now is called with the Handler's lock held: it must not call the
// Handler.
func (h *Handler) SetClock(now func() time.Time) {
	h.mu.Lock()
	if now == nil {
		h.now = h.nowLocked()
	}
	h.clock = now
	h.mu.Unlock()
}

// SetTokenTTL sets how long the tokens issued from now on live: 0 means
// DefaultTokenTTL.
func (h *Handler) SetTokenTTL(d time.Duration) {
	if d <= 0 {
		d = DefaultTokenTTL
	}
	h.mu.Lock()
	h.tokenTTL = d
	h.mu.Unlock()
}

// ExpireTokens expires every access token now: calls with them answer
// 42001, and stable_token issues a new one.
func (h *Handler) ExpireTokens() {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.nowLocked()
	for t := range h.tokens {
		h.tokens[t] = now
	}
}

// AccessToken returns the current access token, issuing one if there is
// none, without counting a token fetch: for tests that make requests
// themselves.
func (h *Handler) AccessToken() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	token, _ := h.currentToken(h.nowLocked())
	return token
}

// InjectError makes the next call to path (PathSend, PathStableToken, ...)
// answer errcode, whatever the request; the call does nothing else. Errors
// injected for the same path are answered in order, one per call.
func (h *Handler) InjectError(path string, errcode int) {
	h.mu.Lock()
	h.injected[path] = append(h.injected[path], errcode)
	h.mu.Unlock()
}

// Calls returns how many requests reached path, whatever their answer.
func (h *Handler) Calls(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[path]
}

// TokenFetches returns how many requests reached /cgi-bin/stable_token.
func (h *Handler) TokenFetches() int { return h.Calls(PathStableToken) }

// ForceRefreshes returns how many stable_token requests with force_refresh
// true were answered a token.
func (h *Handler) ForceRefreshes() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.forced
}

// OnCall makes the Handler call f with every call it answers, after the
// answer is written, in the request's goroutine; hooks run in the order
// they were added. f may call the Handler's methods.
func (h *Handler) OnCall(f func(Call)) {
	h.mu.Lock()
	h.onCall = append(h.onCall, f)
	h.mu.Unlock()
}

// UserMessage records that the user with openID sent a message at the
// Handler's clock: 5 replies are allowed within 48 hours.
func (h *Handler) UserMessage(openID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.nowLocked()
	w := h.user(openID)
	w.act(now, CauseMessage, MessageWindow, MessageQuota)
	w.LastExchange = now
}

// UserEnteredSession records that the user with openID entered the
// customer-service chat (user_enter_tempsession) at the Handler's clock: 2
// replies are allowed within a minute.
func (h *Handler) UserEnteredSession(openID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.user(openID).act(h.nowLocked(), CauseEnter, SessionWindow, SessionQuota)
}

// Window returns the reply window of the user with openID, and false for a
// user never declared.
func (h *Handler) Window(openID string) (Window, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if w := h.users[openID]; w != nil {
		return *w, true
	}
	return Window{}, false
}

func (h *Handler) user(openID string) *Window {
	w := h.users[openID]
	if w == nil {
		w = &Window{}
		h.users[openID] = w
	}
	return w
}

// Sent returns the messages sent so far, oldest first.
func (h *Handler) Sent() []SentMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]SentMessage(nil), h.sent...)
}

// Typing returns the typing commands accepted so far, oldest first.
func (h *Handler) Typing() []TypingEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]TypingEvent(nil), h.typing...)
}

// WaitSent waits until at least n messages have been sent, then returns
// them all, oldest first. It returns ctx's error if ctx ends first: give it
// a timeout.
func (h *Handler) WaitSent(ctx context.Context, n int) ([]SentMessage, error) {
	for {
		h.mu.Lock()
		if len(h.sent) >= n {
			sent := append([]SentMessage(nil), h.sent...)
			h.mu.Unlock()
			return sent, nil
		}
		changed := h.changed
		h.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("kftest: waiting for %d messages: %w", n, ctx.Err())
		}
	}
}

// AddMedia stores data as a temporary media, as if a user had sent it as
// an image, and returns its media id, for GetTempMedia and sends.
func (h *Handler) AddMedia(data []byte, contentType string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addMedia(data, contentType, "media")
}

// Media returns the bytes and Content-Type of the temporary media id, and
// false if there is none or it has expired.
func (h *Handler) Media(id string) (data []byte, contentType string, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.validMedia(id) {
		return nil, "", false
	}
	m := h.media[id]
	return m.data, m.contentType, true
}

func (h *Handler) addMedia(data []byte, contentType, filename string) string {
	h.seq++
	id := fmt.Sprintf("MEDIA_ID_%d_%s", h.seq, randomHex(8))
	h.media[id] = &media{
		data:        append([]byte(nil), data...),
		contentType: contentType,
		filename:    filename,
		expires:     h.nowLocked().Add(MediaTTL),
	}
	return id
}

// validMedia reports whether id is a temporary media that has not expired.
func (h *Handler) validMedia(id string) bool {
	m := h.media[id]
	return m != nil && h.nowLocked().Before(m.expires)
}

// currentToken returns the current stable token at now, issuing one if it
// has expired, and the time it has left.
func (h *Handler) currentToken(now time.Time) (string, time.Duration) {
	if h.current != "" {
		if left := h.tokens[h.current].Sub(now); left >= time.Second {
			return h.current, left
		}
	}
	return h.issueToken(now), h.tokenTTL
}

// issueToken revokes the current token and issues a new one at now.
func (h *Handler) issueToken(now time.Time) string {
	if h.current != "" && now.Before(h.tokens[h.current]) {
		delete(h.tokens, h.current) // revoked: 40001 from now on
	}
	h.seq++
	h.current = fmt.Sprintf("ACCESS_TOKEN_%d_%s", h.seq, randomHex(24))
	h.tokens[h.current] = now.Add(h.tokenTTL)
	return h.current
}

// checkToken returns the errcode that refuses the access token of r, or 0.
func (h *Handler) checkToken(r *http.Request) int {
	token := r.URL.Query().Get("access_token")
	if token == "" {
		return kfwire.CodeNoAccessToken
	}
	expires, ok := h.tokens[token]
	switch {
	case !ok:
		return kfwire.CodeInvalidCredential
	case !h.nowLocked().Before(expires):
		return kfwire.CodeAccessTokenExpired
	}
	return 0
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
