package kftest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/csmsg/csmsg/internal/kfwire"
	"github.com/csmsg/csmsg/kf"
)

// injectedErrMsg is the errmsg of an error InjectError made.
const injectedErrMsg = "kftest: injected error"

// ServeHTTP answers one call of the API, then tells the OnCall hooks.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := &answer{w: w, call: Call{Method: r.Method, Path: r.URL.Path, MediaID: r.URL.Query().Get("media_id")}}
	h.mu.Lock()
	a.call.At = h.nowLocked()
	h.calls[r.URL.Path]++
	var code int
	if q := h.injected[r.URL.Path]; len(q) > 0 {
		code, h.injected[r.URL.Path] = q[0], q[1:]
	}
	hooks := h.onCall
	h.mu.Unlock()
	if code != 0 {
		body, _ := io.ReadAll(io.LimitReader(r.Body, MaxMediaBytes))
		a.call.Send, a.call.Typing = describe(r.URL.Path, body)
		a.json("application/json; encoding=utf-8", kfwire.Status{ErrCode: code, ErrMsg: injectedErrMsg})
	} else {
		h.serve(a, r)
	}
	for _, f := range hooks {
		f(a.call)
	}
}

// serve answers r with the endpoint of its path.
func (h *Handler) serve(a *answer, r *http.Request) {
	switch r.URL.Path {
	case PathStableToken:
		h.stableToken(a, r)
	case PathToken:
		a.status(kfwire.CodeUnauthorized)
	case PathSend:
		h.send(a, r)
	case PathTyping:
		h.setTyping(a, r)
	case PathUpload:
		h.upload(a, r)
	case PathGetMedia:
		h.getMedia(a, r)
	default:
		a.call.Status = http.StatusNotFound
		http.NotFound(a.w, r)
	}
}

// answer writes the answer of a call and records it in the call.
type answer struct {
	w    http.ResponseWriter
	call Call
}

// status answers errcode with WeChat's errmsg ("ok" for 0).
func (a *answer) status(errcode int) {
	a.json("application/json; encoding=utf-8", kfwire.Answer(errcode))
}

// json answers v, a kfwire.Status or a success answer, as JSON.
func (a *answer) json(contentType string, v any) {
	switch v := v.(type) {
	case kfwire.Status:
		a.call.ErrCode, a.call.ErrMsg = v.ErrCode, v.ErrMsg
	case kfwire.UploadAnswer:
		a.call.ErrCode, a.call.ErrMsg = v.ErrCode, v.ErrMsg
	}
	a.call.Status = http.StatusOK
	a.w.Header().Set("Content-Type", contentType)
	a.w.Write(kfwire.Marshal(v))
}

// describe decodes the request body of a send or typing call for a Call,
// whatever its errors.
func describe(path string, body []byte) (*SentMessage, *TypingEvent) {
	switch path {
	case PathSend:
		var req kfwire.Send
		if json.Unmarshal(body, &req) != nil && req.MsgType == "" {
			return nil, nil
		}
		msg := sentMessage(req)
		return &msg, nil
	case PathTyping:
		var req kfwire.Typing
		if json.Unmarshal(body, &req) != nil && req.Command == "" {
			return nil, nil
		}
		return nil, &TypingEvent{ToUser: req.ToUser, Command: req.Command}
	}
	return nil, nil
}

// sentMessage returns the message of a send, with only the field of its
// msgtype set.
func sentMessage(req kfwire.Send) SentMessage {
	msg := SentMessage{ToUser: req.ToUser, MsgType: req.MsgType}
	switch {
	case req.MsgType == kfwire.MsgTypeText && req.Text != nil:
		msg.Text = req.Text.Content
	case req.MsgType == kfwire.MsgTypeImage && req.Image != nil:
		msg.MediaID = req.Image.MediaID
	case req.MsgType == kfwire.MsgTypeLink && req.Link != nil:
		msg.Link = kf.Link(*req.Link)
	case req.MsgType == kfwire.MsgTypeMiniProgramPage && req.MiniProgramPage != nil:
		msg.Card = kf.MiniProgramCard(*req.MiniProgramPage)
	}
	return msg
}

func (h *Handler) stableToken(a *answer, r *http.Request) {
	if r.Method != http.MethodPost {
		a.status(kfwire.CodeRequirePOST)
		return
	}
	var req kfwire.StableTokenRequest
	if !readJSON(a, r, &req) {
		return
	}
	code := 0
	switch {
	case req.GrantType != kfwire.GrantType:
		code = kfwire.CodeInvalidGrantType
	case req.AppID == "":
		code = kfwire.CodeNoAppID
	case req.AppID != h.appID:
		code = kfwire.CodeInvalidAppID
	case req.Secret == "":
		code = kfwire.CodeNoAppSecret
	case req.Secret != h.secret:
		code = kfwire.CodeInvalidAppSecret
	}
	if code != 0 {
		a.status(code)
		return
	}
	h.mu.Lock()
	now := h.nowLocked()
	var token string
	left := h.tokenTTL
	if req.ForceRefresh {
		token = h.issueToken(now)
		h.forced++
	} else {
		token, left = h.currentToken(now)
	}
	h.mu.Unlock()
	a.json("application/json; encoding=utf-8", kfwire.StableTokenAnswer{AccessToken: token, ExpiresIn: int64(left / time.Second)})
}

func (h *Handler) send(a *answer, r *http.Request) {
	if !h.authorized(a, r) {
		return
	}
	var req kfwire.Send
	if !readJSON(a, r, &req) {
		return
	}
	msg := sentMessage(req)
	a.call.Send = &msg
	code := 0
	h.mu.Lock()
	defer h.mu.Unlock()
	switch req.MsgType {
	case kfwire.MsgTypeText:
		switch {
		case req.Text == nil:
			code = kfwire.CodeDataFormat
		case req.Text.Content == "":
			code = kfwire.CodeEmptyContent
		case len(req.Text.Content) > MaxTextBytes:
			code = kfwire.CodeContentTooLong
		}
	case kfwire.MsgTypeImage:
		switch {
		case req.Image == nil:
			code = kfwire.CodeDataFormat
		case !h.validMedia(req.Image.MediaID):
			code = kfwire.CodeInvalidMediaID
		}
	case kfwire.MsgTypeLink:
		if req.Link == nil {
			code = kfwire.CodeDataFormat
		}
	case kfwire.MsgTypeMiniProgramPage:
		switch {
		case req.MiniProgramPage == nil:
			code = kfwire.CodeDataFormat
		case !h.validMedia(req.MiniProgramPage.ThumbMediaID):
			code = kfwire.CodeInvalidMediaID
		}
	default:
		code = kfwire.CodeInvalidMsgType
	}
	if code != 0 {
		h.windowOf(a, req.ToUser)
		a.status(code)
		return
	}
	u := h.users[req.ToUser]
	if u == nil {
		a.status(kfwire.CodeInvalidOpenID)
		return
	}
	now := h.nowLocked()
	code = u.send(now)
	h.windowOf(a, req.ToUser)
	if code != 0 {
		a.status(code)
		return
	}
	sent := msg // the Call's copy keeps a zero At
	sent.At = now
	h.sent = append(h.sent, sent)
	close(h.changed)
	h.changed = make(chan struct{})
	a.status(0)
}

// windowOf records the reply window of openID in the call; h.mu is held.
func (h *Handler) windowOf(a *answer, openID string) {
	if w := h.users[openID]; w != nil {
		cp := *w
		a.call.Window = &cp
	}
}

// authorized answers a call that is not a POST with a valid access token,
// and reports whether the call goes on.
func (h *Handler) authorized(a *answer, r *http.Request) bool {
	if r.Method != http.MethodPost {
		a.status(kfwire.CodeRequirePOST)
		return false
	}
	h.mu.Lock()
	code := h.checkToken(r)
	h.mu.Unlock()
	if code != 0 {
		a.status(code)
		return false
	}
	return true
}

func (h *Handler) setTyping(a *answer, r *http.Request) {
	if !h.authorized(a, r) {
		return
	}
	var req kfwire.Typing
	if !readJSON(a, r, &req) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.nowLocked()
	a.call.Typing = &TypingEvent{ToUser: req.ToUser, Command: req.Command}
	h.windowOf(a, req.ToUser)
	if req.Command != kfwire.CommandTyping && req.Command != kfwire.CommandCancelTyping {
		a.status(kfwire.CodeDataFormat)
		return
	}
	u := h.users[req.ToUser]
	if u == nil {
		a.status(kfwire.CodeInvalidOpenID)
		return
	}
	if code := u.setTyping(now, req.Command == kfwire.CommandTyping); code != 0 {
		a.status(code)
		return
	}
	h.windowOf(a, req.ToUser)
	a.call.Typing.At = now
	h.typing = append(h.typing, *a.call.Typing)
	a.status(0)
}

func (h *Handler) upload(a *answer, r *http.Request) {
	if !h.authorized(a, r) {
		return
	}
	if r.URL.Query().Get("type") != "image" {
		a.status(kfwire.CodeInvalidMediaType)
		return
	}
	data, filename, code := readMediaPart(r)
	if code != 0 {
		a.status(code)
		return
	}
	contentType := http.DetectContentType(data)
	if mt, _, _ := mime.ParseMediaType(contentType); !strings.HasPrefix(mt, "image/") {
		a.status(kfwire.CodeInvalidFileType)
		return
	}
	h.mu.Lock()
	id := h.addMedia(data, contentType, filename)
	created := h.nowLocked().Unix()
	h.mu.Unlock()
	a.json("application/json; encoding=utf-8", kfwire.UploadAnswer{Status: kfwire.Answer(0), Type: "image", MediaID: id, CreatedAt: created})
}

// readMediaPart reads the file part "media" of an upload, or returns the
// errcode that refuses it.
func readMediaPart(r *http.Request) (data []byte, filename string, code int) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", kfwire.CodeNoMediaData
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, "", kfwire.CodeNoMediaData
		}
		if err != nil {
			return nil, "", kfwire.CodeDataFormat
		}
		if part.FormName() != "media" || part.FileName() == "" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, MaxMediaBytes+1))
		switch {
		case err != nil:
			return nil, "", kfwire.CodeDataFormat
		case len(data) > MaxMediaBytes:
			return nil, "", kfwire.CodeInvalidFileSize
		case len(data) == 0:
			return nil, "", kfwire.CodeNoMediaData
		}
		return data, part.FileName(), 0
	}
}

func (h *Handler) getMedia(a *answer, r *http.Request) {
	if r.Method != http.MethodGet {
		a.status(kfwire.CodeRequireGET)
		return
	}
	h.mu.Lock()
	code := h.checkToken(r)
	var m *media
	if code == 0 {
		if id := r.URL.Query().Get("media_id"); h.validMedia(id) {
			m = h.media[id]
		} else {
			code = kfwire.CodeInvalidMediaID
		}
	}
	h.mu.Unlock()
	if code != 0 {
		// WeChat labels this error text/plain at times: so does the fake.
		a.json("text/plain", kfwire.Answer(code))
		return
	}
	a.call.Status = http.StatusOK
	a.w.Header().Set("Content-Type", m.contentType)
	a.w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": m.filename}))
	a.w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	a.w.Write(m.data)
}

// readJSON decodes the JSON object body of r into v, or answers 47001 and
// returns false.
func readJSON(a *answer, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err != nil || len(body) > maxJSONBody || !utf8.Valid(body) ||
		!bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) || json.Unmarshal(body, v) != nil {
		if r.URL.Path == PathSend || r.URL.Path == PathTyping {
			a.call.Send, a.call.Typing = describe(r.URL.Path, body)
		}
		a.status(kfwire.CodeDataFormat)
		return false
	}
	return true
}
