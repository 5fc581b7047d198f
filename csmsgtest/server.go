package csmsgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/csmsg/csmsg"
)

// Errcodes the Server answers, with WeChat's errmsg.
const (
	codeInvalidCredential = 40001 // unknown or revoked access token
	codeInvalidGrantType  = 40002
	codeInvalidOpenID     = 40003
	codeInvalidMediaType  = 40004
	codeInvalidFileType   = 40005
	codeInvalidFileSize   = 40006
	codeInvalidMediaID    = 40007
	codeInvalidMsgType    = 40008
	codeInvalidAppID      = 40013
	codeInvalidAppSecret  = 40125
	codeNoAccessToken     = 41001
	codeNoAppID           = 41002
	codeNoAppSecret       = 41004
	codeNoMediaData       = 41005
	codeTokenExpired      = 42001
	codeRequireGET        = 43001
	codeRequirePOST       = 43002
	codeEmptyContent      = 44004
	codeContentTooLong    = 45002
	codeOutsideWindow     = 45015
	codeQuotaUsedUp       = 45047
	codeDataFormat        = 47001
	codeUnauthorized      = 48001
)

var errmsgs = map[int]string{
	codeInvalidCredential: "invalid credential, access_token is invalid or not latest",
	codeInvalidGrantType:  "invalid grant_type",
	codeInvalidOpenID:     "invalid openid",
	codeInvalidMediaType:  "invalid media type",
	codeInvalidFileType:   "invalid file type",
	codeInvalidFileSize:   "invalid file size",
	codeInvalidMediaID:    "invalid media_id",
	codeInvalidMsgType:    "invalid message type",
	codeInvalidAppID:      "invalid appid",
	codeInvalidAppSecret:  "invalid appsecret",
	codeNoAccessToken:     "access_token missing",
	codeNoAppID:           "appid missing",
	codeNoAppSecret:       "appsecret missing",
	codeNoMediaData:       "media data missing",
	codeTokenExpired:      "access_token expired",
	codeRequireGET:        "require GET method",
	codeRequirePOST:       "require POST method",
	codeEmptyContent:      "empty content",
	codeContentTooLong:    "content size out of limit",
	codeOutsideWindow:     "response out of time limit or subscription is canceled",
	codeQuotaUsedUp:       "out of response count limit",
	codeDataFormat:        "data format error",
	codeUnauthorized:      "api unauthorized: csmsgtest serves /cgi-bin/stable_token, not /cgi-bin/token",
}

// Paths the Server serves.
const (
	PathStableToken = "/cgi-bin/stable_token"
	PathToken       = "/cgi-bin/token"
	PathSend        = "/cgi-bin/message/custom/send"
	PathTyping      = "/cgi-bin/message/custom/typing"
	PathUpload      = "/cgi-bin/media/upload"
	PathGetMedia    = "/cgi-bin/media/get"
)

// Limits of the Server.
const (
	// DefaultTokenTTL is how long an access token lives, as at WeChat.
	DefaultTokenTTL = 7200 * time.Second

	// MediaTTL is how long a temporary media lives, as at WeChat.
	MediaTTL = 72 * time.Hour

	// MaxTextBytes bounds text.content: longer is errcode 45002. WeChat
	// documents no figure; this is the Server's.
	MaxTextBytes = 2048

	// MaxMediaBytes bounds an upload: longer is errcode 40006.
	MaxMediaBytes = 10 << 20

	// maxJSONBody bounds a JSON request body.
	maxJSONBody = 1 << 20
)

// Server is an offline fake of WeChat's customer-service API, for tests of
// a [csmsg.Client] or of any other client: point the client's BaseURL at
// URL. It serves, with WeChat's validation and errcodes:
//
//   - POST /cgi-bin/stable_token: stable access tokens for the appid and
//     secret given to NewServer (40013, 40125 otherwise; 41002, 41004 if
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
// The Server knows the users the test declares: UserMessage records that a
// user sent a message (5 replies within 48 hours), UserEnteredSession that
// the user entered the chat (2 replies within 1 minute); each action resets
// the quota. A send to an openid never declared is 40003 (invalid openid):
// the Server cannot tell a real user from a typo, so declare every user a
// test writes to. A declared user whose window is closed gets 45015, one
// whose quota is used up 45047. Typing is allowed within 30 s of a message
// between the user and the service (a user's message or a send; entering
// the chat is not a message) and otherwise answers 45015; a status lasts
// 15 s, and Typing again meanwhile answers 45015 too (WeChat documents the
// rule, not its code). A send cancels typing.
//
// # Send validation
//
// A body that is not a JSON object of the documented shape is 47001, an
// unknown msgtype 40008, the msgtype's object missing 47001, an empty
// text.content 44004, one longer than MaxTextBytes 45002, an image
// media_id or miniprogrampage thumb_media_id the Server did not issue (or
// older than 3 days) 40007, an empty or undeclared touser 40003.
//
// # Media
//
// An upload needs type=image (else 40004) and a file part named "media"
// (else 41005) of at most MaxMediaBytes (else 40006) whose bytes sniff as
// an image (else 40005); it answers a media id that lives 3 days. AddMedia
// stores a file as if a user had sent it. A get answers the bytes with the
// Content-Type sniffed at upload (or given to AddMedia) and a
// Content-Disposition; an unknown or expired media id answers
// {"errcode":40007,...} labelled text/plain, as WeChat does at times.
//
// # Hooks
//
// InjectError makes the next call to a path answer an errcode; Calls,
// TokenFetches and ForceRefreshes count requests; Sent, Typing and
// WaitSent give what was sent.
//
// # Clock
//
// The Server's clock starts at the real time of NewServer and moves only
// with SetNow and Advance, so window and expiry tests take no real time.
// Everything recorded carries the clock's time.
//
// A Server is safe for concurrent use.
type Server struct {
	// Server is the HTTP server; its URL is the client's BaseURL.
	*httptest.Server

	appID, secret string

	mu       sync.Mutex
	now      time.Time
	tokenTTL time.Duration
	current  string               // the current stable token
	tokens   map[string]time.Time // every token not revoked: its expiry
	forced   int
	calls    map[string]int
	injected map[string][]int
	users    map[string]*user
	sent     []SentMessage
	typing   []TypingEvent
	media    map[string]*media
	seq      int
	changed  chan struct{} // closed and replaced when a message is sent
}

// SentMessage is a message a client sent, decoded. Only the field of its
// MsgType is set.
type SentMessage struct {
	ToUser  string                // touser
	MsgType string                // msgtype: "text", "image", "link" or "miniprogrampage"
	Text    string                // text.content
	MediaID string                // image.media_id
	Link    csmsg.Link            // link
	Card    csmsg.MiniProgramCard // miniprogrampage
	At      time.Time             // the Server's clock when it was sent
}

// TypingEvent is a typing command a client sent and the Server accepted.
type TypingEvent struct {
	ToUser  string    // touser
	Command string    // "Typing" or "CancelTyping"
	At      time.Time // the Server's clock
}

// media is a stored temporary media.
type media struct {
	data        []byte
	contentType string
	filename    string
	expires     time.Time
}

// NewServer starts a Server for the mini program with appID and secret.
// Close it when done.
func NewServer(appID, secret string) *Server {
	s := &Server{
		appID:    appID,
		secret:   secret,
		now:      time.Now(),
		tokenTTL: DefaultTokenTTL,
		tokens:   make(map[string]time.Time),
		calls:    make(map[string]int),
		injected: make(map[string][]int),
		users:    make(map[string]*user),
		media:    make(map[string]*media),
		changed:  make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc(PathStableToken, s.stableToken)
	mux.HandleFunc(PathToken, func(w http.ResponseWriter, _ *http.Request) { writeError(w, codeUnauthorized) })
	mux.HandleFunc(PathSend, s.send)
	mux.HandleFunc(PathTyping, s.setTyping)
	mux.HandleFunc(PathUpload, s.upload)
	mux.HandleFunc(PathGetMedia, s.getMedia)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[r.URL.Path]++
		var code int
		if q := s.injected[r.URL.Path]; len(q) > 0 {
			code, s.injected[r.URL.Path] = q[0], q[1:]
		}
		s.mu.Unlock()
		if code != 0 {
			io.Copy(io.Discard, io.LimitReader(r.Body, MaxMediaBytes))
			writeJSON(w, "application/json; encoding=utf-8", apiStatus{code, "csmsgtest: injected error"})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	return s
}

// Now returns the Server's clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// SetNow sets the Server's clock.
func (s *Server) SetNow(t time.Time) {
	s.mu.Lock()
	s.now = t
	s.mu.Unlock()
}

// Advance moves the Server's clock by d.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	s.now = s.now.Add(d)
	s.mu.Unlock()
}

// SetTokenTTL sets how long the tokens issued from now on live: 0 means
// DefaultTokenTTL.
func (s *Server) SetTokenTTL(d time.Duration) {
	if d <= 0 {
		d = DefaultTokenTTL
	}
	s.mu.Lock()
	s.tokenTTL = d
	s.mu.Unlock()
}

// ExpireTokens expires every access token now: calls with them answer
// 42001, and stable_token issues a new one.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = s.now
	}
}

// AccessToken returns the current access token, issuing one if there is
// none, without counting a token fetch: for tests that make requests
// themselves.
func (s *Server) AccessToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	token, _ := s.currentToken()
	return token
}

// InjectError makes the next call to path (PathSend, PathStableToken, ...)
// answer errcode, whatever the request; the call does nothing else. Errors
// injected for the same path are answered in order, one per call.
func (s *Server) InjectError(path string, errcode int) {
	s.mu.Lock()
	s.injected[path] = append(s.injected[path], errcode)
	s.mu.Unlock()
}

// Calls returns how many requests reached path, whatever their answer.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// TokenFetches returns how many requests reached /cgi-bin/stable_token.
func (s *Server) TokenFetches() int { return s.Calls(PathStableToken) }

// ForceRefreshes returns how many stable_token requests with force_refresh
// true were answered a token.
func (s *Server) ForceRefreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forced
}

// UserMessage records that the user with openID sent a message at the
// Server's clock: 5 replies are allowed within 48 hours.
func (s *Server) UserMessage(openID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.user(openID)
	u.act(s.now, MessageWindow, MessageQuota)
	u.lastExchange = s.now
}

// UserEnteredSession records that the user with openID entered the
// customer-service chat (user_enter_tempsession) at the Server's clock: 2
// replies are allowed within a minute.
func (s *Server) UserEnteredSession(openID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user(openID).act(s.now, SessionWindow, SessionQuota)
}

func (s *Server) user(openID string) *user {
	u := s.users[openID]
	if u == nil {
		u = &user{}
		s.users[openID] = u
	}
	return u
}

// Sent returns the messages sent so far, oldest first.
func (s *Server) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMessage(nil), s.sent...)
}

// Typing returns the typing commands accepted so far, oldest first.
func (s *Server) Typing() []TypingEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TypingEvent(nil), s.typing...)
}

// WaitSent waits until at least n messages have been sent, then returns
// them all, oldest first. It returns ctx's error if ctx ends first: give it
// a timeout.
func (s *Server) WaitSent(ctx context.Context, n int) ([]SentMessage, error) {
	for {
		s.mu.Lock()
		if len(s.sent) >= n {
			sent := append([]SentMessage(nil), s.sent...)
			s.mu.Unlock()
			return sent, nil
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("csmsgtest: waiting for %d messages: %w", n, ctx.Err())
		}
	}
}

// AddMedia stores data as a temporary media, as if a user had sent it as
// an image, and returns its media id, for GetTempMedia and sends.
func (s *Server) AddMedia(data []byte, contentType string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addMedia(data, contentType, "media")
}

func (s *Server) addMedia(data []byte, contentType, filename string) string {
	s.seq++
	id := fmt.Sprintf("MEDIA_ID_%d_%s", s.seq, randomHex(8))
	s.media[id] = &media{
		data:        append([]byte(nil), data...),
		contentType: contentType,
		filename:    filename,
		expires:     s.now.Add(MediaTTL),
	}
	return id
}

// validMedia reports whether id is a temporary media that has not expired.
func (s *Server) validMedia(id string) bool {
	m := s.media[id]
	return m != nil && s.now.Before(m.expires)
}

// currentToken returns the current stable token, issuing one if it has
// expired, and the time it has left.
func (s *Server) currentToken() (string, time.Duration) {
	if s.current != "" {
		if left := s.tokens[s.current].Sub(s.now); left >= time.Second {
			return s.current, left
		}
	}
	return s.issueToken(), s.tokenTTL
}

// issueToken revokes the current token and issues a new one.
func (s *Server) issueToken() string {
	if s.current != "" && s.now.Before(s.tokens[s.current]) {
		delete(s.tokens, s.current) // revoked: 40001 from now on
	}
	s.seq++
	s.current = fmt.Sprintf("ACCESS_TOKEN_%d_%s", s.seq, randomHex(24))
	s.tokens[s.current] = s.now.Add(s.tokenTTL)
	return s.current
}

// checkToken returns the errcode that refuses the access token of r, or 0.
func (s *Server) checkToken(r *http.Request) int {
	token := r.URL.Query().Get("access_token")
	if token == "" {
		return codeNoAccessToken
	}
	expires, ok := s.tokens[token]
	switch {
	case !ok:
		return codeInvalidCredential
	case !s.now.Before(expires):
		return codeTokenExpired
	}
	return 0
}

func (s *Server) stableToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, codeRequirePOST)
		return
	}
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	code := 0
	switch {
	case req.GrantType != "client_credential":
		code = codeInvalidGrantType
	case req.AppID == "":
		code = codeNoAppID
	case req.AppID != s.appID:
		code = codeInvalidAppID
	case req.Secret == "":
		code = codeNoAppSecret
	case req.Secret != s.secret:
		code = codeInvalidAppSecret
	}
	if code != 0 {
		writeError(w, code)
		return
	}
	s.mu.Lock()
	var token string
	left := s.tokenTTL
	if req.ForceRefresh {
		token = s.issueToken()
		s.forced++
	} else {
		token, left = s.currentToken()
	}
	s.mu.Unlock()
	writeJSON(w, "application/json; encoding=utf-8", struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}{token, int64(left / time.Second)})
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var req struct {
		ToUser  string `json:"touser"`
		MsgType string `json:"msgtype"`
		Text    *struct {
			Content string `json:"content"`
		} `json:"text"`
		Image *struct {
			MediaID string `json:"media_id"`
		} `json:"image"`
		Link *struct {
			Title       string `json:"title"`
			Description string `json:"description"`
			URL         string `json:"url"`
			ThumbURL    string `json:"thumb_url"`
		} `json:"link"`
		Card *struct {
			Title        string `json:"title"`
			PagePath     string `json:"pagepath"`
			ThumbMediaID string `json:"thumb_media_id"`
		} `json:"miniprogrampage"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	msg := SentMessage{ToUser: req.ToUser, MsgType: req.MsgType}
	code := 0
	s.mu.Lock()
	defer s.mu.Unlock()
	switch req.MsgType {
	case "text":
		switch {
		case req.Text == nil:
			code = codeDataFormat
		case req.Text.Content == "":
			code = codeEmptyContent
		case len(req.Text.Content) > MaxTextBytes:
			code = codeContentTooLong
		default:
			msg.Text = req.Text.Content
		}
	case "image":
		switch {
		case req.Image == nil:
			code = codeDataFormat
		case !s.validMedia(req.Image.MediaID):
			code = codeInvalidMediaID
		default:
			msg.MediaID = req.Image.MediaID
		}
	case "link":
		if req.Link == nil {
			code = codeDataFormat
		} else {
			msg.Link = csmsg.Link(*req.Link)
		}
	case "miniprogrampage":
		switch {
		case req.Card == nil:
			code = codeDataFormat
		case !s.validMedia(req.Card.ThumbMediaID):
			code = codeInvalidMediaID
		default:
			msg.Card = csmsg.MiniProgramCard(*req.Card)
		}
	default:
		code = codeInvalidMsgType
	}
	if code != 0 {
		writeError(w, code)
		return
	}
	u := s.users[req.ToUser]
	if u == nil {
		writeError(w, codeInvalidOpenID)
		return
	}
	if code := u.send(s.now); code != 0 {
		writeError(w, code)
		return
	}
	msg.At = s.now
	s.sent = append(s.sent, msg)
	close(s.changed)
	s.changed = make(chan struct{})
	writeError(w, 0)
}

// authorized answers a call that is not a POST with a valid access token,
// and reports whether the call goes on.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		writeError(w, codeRequirePOST)
		return false
	}
	s.mu.Lock()
	code := s.checkToken(r)
	s.mu.Unlock()
	if code != 0 {
		writeError(w, code)
		return false
	}
	return true
}

func (s *Server) setTyping(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var req struct {
		ToUser  string `json:"touser"`
		Command string `json:"command"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if req.Command != "Typing" && req.Command != "CancelTyping" {
		writeError(w, codeDataFormat)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[req.ToUser]
	if u == nil {
		writeError(w, codeInvalidOpenID)
		return
	}
	if code := u.setTyping(s.now, req.Command == "Typing"); code != 0 {
		writeError(w, code)
		return
	}
	s.typing = append(s.typing, TypingEvent{ToUser: req.ToUser, Command: req.Command, At: s.now})
	writeError(w, 0)
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	if r.URL.Query().Get("type") != "image" {
		writeError(w, codeInvalidMediaType)
		return
	}
	data, filename, code := readMediaPart(r)
	if code != 0 {
		writeError(w, code)
		return
	}
	contentType := http.DetectContentType(data)
	if mt, _, _ := mime.ParseMediaType(contentType); len(mt) < 6 || mt[:6] != "image/" {
		writeError(w, codeInvalidFileType)
		return
	}
	s.mu.Lock()
	id := s.addMedia(data, contentType, filename)
	created := s.now.Unix()
	s.mu.Unlock()
	writeJSON(w, "application/json; encoding=utf-8", struct {
		ErrCode   int    `json:"errcode"`
		ErrMsg    string `json:"errmsg"`
		Type      string `json:"type"`
		MediaID   string `json:"media_id"`
		CreatedAt int64  `json:"created_at"`
	}{0, "ok", "image", id, created})
}

// readMediaPart reads the file part "media" of an upload, or returns the
// errcode that refuses it.
func readMediaPart(r *http.Request) (data []byte, filename string, code int) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", codeNoMediaData
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, "", codeNoMediaData
		}
		if err != nil {
			return nil, "", codeDataFormat
		}
		if part.FormName() != "media" || part.FileName() == "" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, MaxMediaBytes+1))
		switch {
		case err != nil:
			return nil, "", codeDataFormat
		case len(data) > MaxMediaBytes:
			return nil, "", codeInvalidFileSize
		case len(data) == 0:
			return nil, "", codeNoMediaData
		}
		return data, part.FileName(), 0
	}
}

func (s *Server) getMedia(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, codeRequireGET)
		return
	}
	s.mu.Lock()
	code := s.checkToken(r)
	var m *media
	if code == 0 {
		if id := r.URL.Query().Get("media_id"); s.validMedia(id) {
			m = s.media[id]
		} else {
			code = codeInvalidMediaID
		}
	}
	s.mu.Unlock()
	if code != 0 {
		// WeChat labels this error text/plain at times: so does the fake.
		writeJSON(w, "text/plain", apiStatus{code, errmsgs[code]})
		return
	}
	w.Header().Set("Content-Type", m.contentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": m.filename}))
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	w.Write(m.data)
}

// apiStatus is an answer with an errcode.
type apiStatus struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// readJSON decodes the JSON object body of r into v, or answers 47001 and
// returns false.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err != nil || len(body) > maxJSONBody || !utf8.Valid(body) ||
		!bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) || json.Unmarshal(body, v) != nil {
		writeError(w, codeDataFormat)
		return false
	}
	return true
}

// writeError answers errcode with WeChat's errmsg ("ok" for 0).
func writeError(w http.ResponseWriter, errcode int) {
	msg := "ok"
	if errcode != 0 {
		msg = errmsgs[errcode]
	}
	writeJSON(w, "application/json; encoding=utf-8", apiStatus{errcode, msg})
}

func writeJSON(w http.ResponseWriter, contentType string, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	w.Header().Set("Content-Type", contentType)
	w.Write(buf.Bytes())
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
