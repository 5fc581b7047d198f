package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/kf/kftest"
)

//go:embed web
var webFiles embed.FS

const emulateExample = `  # your bot listens on :8080 with Token T (and, for safe mode, the key and appid)
  csmsg emulate --endpoint http://127.0.0.1:8080/wechat --token T \
    --aes-key Y3Ntc2cgZGVtbyBrZXkgLSBub3QgYSBzZWNyZXQwMDA --appid wx0123456789abcdef --format json
  # then open http://127.0.0.1:8081/ and point the bot's kf.Config at
  # BaseURL http://127.0.0.1:8081 with the AppID and AppSecret printed at start`

const defaultSecret = "csmsg-emulate-secret"

// emulateCmd implements "csmsg emulate".
func emulateCmd(e *env, args []string) error {
	fs := newFlagSet(e, "emulate", "emulate --endpoint URL --token T [--aes-key K --appid A] [--format xml|json] [--mode plain|compatible|safe] [--addr 127.0.0.1:8081]\n\nA local WeChat. It serves WeChat's customer-service API (stable tokens, send,\ntyping, temporary media, the reply window) for the bot, whose kf.Config.BaseURL\npoints at it, and a chat page where you play the user: each action there becomes\na signed push to --endpoint, and what the bot answers (passive replies and API\nsends, with API errors and the reply window's quota) appears in the conversation.\nEvery push and API call is printed on standard output as one JSON line.", emulateExample)
	var cf configFlags
	cf.register(fs)
	endpoint := fs.String("endpoint", "", "the bot's push `URL` (required)")
	format := fs.String("format", "xml", "the data format of the pushes: xml or json")
	mode := fs.String("mode", "", "the encryption mode: plain, compatible or safe (default safe with --aes-key, plain without)")
	addr := fs.String("addr", "127.0.0.1:8081", "the `address` to serve the API and the chat page on")
	secret := fs.String("secret", defaultSecret, "the AppSecret the bot's client must use")
	user := fs.String("user", defaultUser, "the `openid` of the user you play")
	botID := fs.String("bot-id", defaultBotID, "the mini program's original `id` (ToUserName of the pushes)")
	timeout := fs.Duration("timeout", wechatTimeout, "how long to wait for each answer to a push, as WeChat waits 5 s")
	pause := fs.Duration("retry-pause", defaultRetryPause, "the pause between attempts at a push")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 0:
		return usageError("emulate takes no arguments; run 'csmsg emulate --help'")
	case *endpoint == "":
		return usageError("emulate: --endpoint is required")
	case cf.token == "":
		return usageError("emulate: --token is required")
	case *secret == "":
		return usageError("emulate: --secret must not be empty")
	}
	f, err := parseFormat(*format)
	if err != nil {
		return err
	}
	d, err := newDeliverer(*endpoint, cf, *mode)
	if err != nil {
		return err
	}
	d.timeout, d.pause = *timeout, *pause
	appID := cf.appID
	if appID == "" {
		appID = defaultAppID
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	em := newEmulator(e.ctx, emulatorConfig{
		deliverer: d, format: f, appID: appID, secret: *secret, user: *user, botID: *botID,
		base: "http://" + ln.Addr().String() + "/", out: &lockedWriter{w: e.stdout},
	})
	defer em.close()
	em.printBanner(e.stderr, *endpoint)
	return serveUntilDone(e, ln, em.handler(), em.base)
}

// emulatorConfig is what an emulator is made of.
type emulatorConfig struct {
	deliverer   *deliverer
	format      csmsg.Format
	appID       string
	secret      string
	user, botID string
	base        string    // the emulator's own URL, ending in '/'
	out         io.Writer // JSON lines, safe for concurrent use
}

// emulator is a local WeChat: the csmsgtest fake of the customer-service
// API, observed, and one user's conversation with the bot.
type emulator struct {
	emulatorConfig
	ctx   context.Context
	fake  *kftest.Server
	api   http.Handler // the fake's handler, served on the emulator's address
	thumb string       // the media id of the default card cover
	wg    sync.WaitGroup

	mu      sync.Mutex
	skew    time.Duration // how far the clock was moved ahead
	entries []*entry
	seq     int           // bumped on every change
	changed chan struct{} // closed and replaced on every change
	window  replyWindow
	typing  time.Time // the bot's typing status lasts until then
}

// replyWindow mirrors the fake's reply window of the user, for display.
type replyWindow struct {
	Cause string    `json:"cause,omitempty"` // "message" or "enter", "" before any action
	Until time.Time `json:"until"`
	Left  int       `json:"left"`
	Quota int       `json:"quota"`
	Open  bool      `json:"open"`
}

// entry is one line of the conversation.
type entry struct {
	ID   int       `json:"id"`
	Time time.Time `json:"time"`
	// From is "user", "bot" or "wechat" (notes of the emulator).
	From string `json:"from"`
	// Kind is text, image, miniprogrampage, link, enter, transfer, typing,
	// error or note.
	Kind        string `json:"kind"`
	Text        string `json:"text,omitempty"`
	ImageURL    string `json:"image_url,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url,omitempty"`
	PagePath    string `json:"page_path,omitempty"`
	AppID       string `json:"app_id,omitempty"`
	ThumbURL    string `json:"thumb_url,omitempty"`
	MediaID     string `json:"media_id,omitempty"`
	MsgID       string `json:"msg_id,omitempty"`
	// Delivery is how the push of a user's action went.
	Delivery *delivery `json:"delivery,omitempty"`
	// Window is the reply window after a bot's send.
	Window string `json:"window,omitempty"`
	// Call, Code and Hint describe an API error the bot caused.
	Call string `json:"call,omitempty"`
	Code int    `json:"code,omitempty"`
	Hint string `json:"hint,omitempty"`
}

// delivery is the state of a push.
type delivery struct {
	State    string          `json:"state"` // "sending", "ok" or "failed"
	Format   string          `json:"format"`
	Mode     string          `json:"mode"`
	Attempts []attemptResult `json:"attempts"`
}

// conversation is what GET /api/conversation answers.
type conversation struct {
	Seq      int         `json:"seq"`
	User     string      `json:"user"`
	BotID    string      `json:"bot_id"`
	AppID    string      `json:"app_id"`
	Endpoint string      `json:"endpoint"`
	Format   string      `json:"format"`
	Mode     string      `json:"mode"`
	BaseURL  string      `json:"base_url"`
	Now      time.Time   `json:"now"`
	Skew     string      `json:"skew,omitempty"`
	Window   replyWindow `json:"window"`
	Typing   bool        `json:"typing"`
	Entries  []*entry    `json:"entries"`
}

func newEmulator(ctx context.Context, cfg emulatorConfig) *emulator {
	fake := kftest.NewServer(cfg.appID, cfg.secret)
	em := &emulator{
		emulatorConfig: cfg,
		ctx:            ctx,
		fake:           fake,
		api:            fake.Config.Handler,
		changed:        make(chan struct{}),
	}
	em.thumb = fake.AddMedia(coverPNG(), "image/png")
	return em
}

// close waits for the pushes in flight and stops the fake.
func (em *emulator) close() {
	em.wg.Wait()
	em.fake.Close()
}

func (em *emulator) printBanner(w io.Writer, endpoint string) {
	base := strings.TrimSuffix(em.base, "/")
	fmt.Fprintf(w, "csmsg emulate: a local WeChat on %s\n", em.base)
	fmt.Fprintf(w, "  chat page: open %s in a browser; you are the user %s\n", em.base, em.user)
	fmt.Fprintf(w, "  pushes go to %s (%s, %s mode, ToUserName %s)\n", endpoint, em.format, modeName(em.deliverer.mode), em.botID)
	fmt.Fprintf(w, "the bot's customer-service client:\n")
	fmt.Fprintf(w, "  kf.Config{AppID: %q, AppSecret: %q, BaseURL: %q}\n", em.appID, em.secret, base)
	fmt.Fprintf(w, "each push and API call is printed on standard output as a JSON line\n")
}

// now is the emulator's clock: the real time, moved ahead by the page's
// clock buttons. It also sets the fake's clock.
func (em *emulator) now() time.Time {
	em.mu.Lock()
	t := time.Now().Add(em.skew)
	em.mu.Unlock()
	em.fake.SetNow(t)
	return t
}

// handler serves the API, the page and the page's endpoints.
func (em *emulator) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/cgi-bin/", em.serveAPI)
	static, _ := fs.Sub(webFiles, "web")
	files := http.FileServerFS(static)
	for _, p := range []string{"GET /{$}", "GET /app.js", "GET /style.css"} {
		mux.Handle(p, files)
	}
	mux.HandleFunc("GET /api/conversation", em.serveConversation)
	mux.HandleFunc("GET /api/events", em.serveEvents)
	mux.HandleFunc("POST /api/enter", em.postEnter)
	mux.HandleFunc("POST /api/text", em.postText)
	mux.HandleFunc("POST /api/image", em.postImage)
	mux.HandleFunc("POST /api/card", em.postCard)
	mux.HandleFunc("POST /api/advance", em.postAdvance)
	mux.HandleFunc("POST /api/expire-tokens", em.postExpireTokens)
	mux.HandleFunc("GET /media/{id}", em.serveMedia)
	return mux
}

// add appends an entry and tells the page.
func (em *emulator) add(e *entry) {
	em.mu.Lock()
	e.ID = len(em.entries) + 1
	if e.Time.IsZero() {
		e.Time = time.Now().Add(em.skew)
	}
	em.entries = append(em.entries, e)
	em.bumpLocked()
	em.mu.Unlock()
}

// bumpLocked tells the page that the conversation changed. em.mu is held.
func (em *emulator) bumpLocked() {
	em.seq++
	close(em.changed)
	em.changed = make(chan struct{})
}

// log prints one JSON line on standard output.
func (em *emulator) log(v map[string]any) {
	v["time"] = time.Now().Format(time.RFC3339Nano)
	printJSON(em.out, v, "")
}

// snapshot returns the conversation as the page sees it.
func (em *emulator) snapshot() conversation {
	now := em.now()
	em.mu.Lock()
	defer em.mu.Unlock()
	w := em.window
	w.Open = w.Cause != "" && now.Before(w.Until)
	c := conversation{
		Seq: em.seq, User: em.user, BotID: em.botID, AppID: em.appID,
		Endpoint: em.deliverer.target, Format: em.format.String(), Mode: modeName(em.deliverer.mode),
		BaseURL: strings.TrimSuffix(em.base, "/"), Now: now, Window: w,
		Typing: now.Before(em.typing), Entries: make([]*entry, len(em.entries)),
	}
	if em.skew != 0 {
		c.Skew = em.skew.String()
	}
	for i, e := range em.entries {
		cp := *e
		if e.Delivery != nil {
			d := *e.Delivery
			d.Attempts = append([]attemptResult(nil), d.Attempts...)
			cp.Delivery = &d
		}
		c.Entries[i] = &cp
	}
	return c
}

func (em *emulator) serveConversation(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	printJSON(w, em.snapshot(), "")
}

// serveEvents sends the page a server-sent event with the sequence number
// on every change; the page then fetches the conversation.
func (em *emulator) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	for {
		em.mu.Lock()
		seq, changed := em.seq, em.changed
		em.mu.Unlock()
		rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := fmt.Fprintf(w, "retry: 1000\ndata: %d\n\n", seq); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
		select {
		case <-changed:
		case <-time.After(15 * time.Second): // keeps proxies from closing it
		case <-r.Context().Done():
			return
		case <-em.ctx.Done():
			return
		}
	}
}

// userActed records a user's action with WeChat: the reply window opens.
func (em *emulator) userActed(enter bool) {
	now := em.now()
	em.mu.Lock()
	defer em.mu.Unlock()
	if enter {
		em.fake.UserEnteredSession(em.user)
		em.window = replyWindow{Cause: "enter", Until: now.Add(kftest.SessionWindow), Left: kftest.SessionQuota, Quota: kftest.SessionQuota}
	} else {
		em.fake.UserMessage(em.user)
		em.window = replyWindow{Cause: "message", Until: now.Add(kftest.MessageWindow), Left: kftest.MessageQuota, Quota: kftest.MessageQuota}
	}
}

// push sends msg to the bot in the background, recording it as e.
func (em *emulator) push(w http.ResponseWriter, msg csmsg.Message, e *entry) {
	body, err := csmsg.Marshal(msg, em.format)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	_, enter := msg.(*csmsg.UserEnterTempSession)
	em.userActed(enter)
	e.From = "user"
	e.Delivery = &delivery{State: "sending", Format: em.format.String(), Mode: modeName(em.deliverer.mode)}
	em.add(e)
	em.wg.Add(1)
	go func() {
		defer em.wg.Done()
		kind := msg.MsgHeader().MsgType
		if enter {
			kind = csmsg.EventUserEnterTempSession
		}
		res := em.deliverer.deliver(em.ctx, body, func(a attemptResult) {
			em.log(map[string]any{"type": "push", "kind": kind, "msg_id": e.MsgID, "to": em.deliverer.target,
				"format": em.format.String(), "mode": modeName(em.deliverer.mode), "attempt": a.Attempt,
				"ok": a.OK, "status": a.Status, "ms": a.Millis, "answer": a.Answer, "error": a.Error})
			em.mu.Lock()
			e.Delivery.Attempts = append(e.Delivery.Attempts, a)
			em.bumpLocked()
			em.mu.Unlock()
		})
		em.mu.Lock()
		e.Delivery.State = "failed"
		if res.OK {
			e.Delivery.State = "ok"
		}
		em.bumpLocked()
		em.mu.Unlock()
		if !res.OK {
			em.add(&entry{From: "wechat", Kind: "error", Call: "push",
				Text: fmt.Sprintf("the bot did not answer the push well in %d attempts", len(res.Attempts)),
				Hint: "WeChat shows the user: 该小程序客服暂时无法提供服务 (the service is unavailable)"})
			return
		}
		if last := res.Attempts[len(res.Attempts)-1]; last.Reply != nil {
			em.add(&entry{From: "bot", Kind: "transfer", Text: "passive reply transfer_customer_service: the conversation goes to the customer-service tool"})
		}
	}()
	w.Header().Set("Content-Type", "application/json")
	printJSON(w, map[string]any{"id": e.ID}, "")
}

// header returns the header of a push from the user, now.
func (em *emulator) header(msgType string) csmsg.Header {
	return csmsg.Header{ToUserName: em.botID, FromUserName: em.user, CreateTime: em.now().Unix(), MsgType: msgType}
}

// readForm decodes a JSON request body of the page into v.
func readForm(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil && err != io.EOF {
		http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func (em *emulator) postEnter(w http.ResponseWriter, r *http.Request) {
	var form struct {
		SessionFrom string `json:"session_from"`
	}
	if !readForm(w, r, &form) {
		return
	}
	if form.SessionFrom == "" {
		form.SessionFrom = defaultSession
	}
	msg := &csmsg.UserEnterTempSession{Header: em.header(csmsg.MsgTypeEvent), Event: csmsg.EventUserEnterTempSession, SessionFrom: form.SessionFrom}
	em.push(w, msg, &entry{Kind: "enter", Text: "entered the chat (session-from " + form.SessionFrom + ")"})
}

func (em *emulator) postText(w http.ResponseWriter, r *http.Request) {
	var form struct {
		Content string `json:"content"`
	}
	if !readForm(w, r, &form) {
		return
	}
	if strings.TrimSpace(form.Content) == "" {
		http.Error(w, "empty message", http.StatusBadRequest)
		return
	}
	id := randomMsgID()
	msg := &csmsg.Text{Header: em.header(csmsg.MsgTypeText), MsgID: id, Content: form.Content}
	em.push(w, msg, &entry{Kind: "text", Text: form.Content, MsgID: id})
}

func (em *emulator) postImage(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, kftest.MaxMediaBytes+1<<16)
	file, _, err := r.FormFile("image")
	if err != nil {
		http.Error(w, "no image: "+err.Error(), http.StatusBadRequest)
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, kftest.MaxMediaBytes+1))
	if err != nil || len(data) > kftest.MaxMediaBytes {
		http.Error(w, "image unreadable or larger than 10 MiB", http.StatusBadRequest)
		return
	}
	ct := http.DetectContentType(data)
	if !strings.HasPrefix(ct, "image/") {
		http.Error(w, "not an image: "+ct, http.StatusBadRequest)
		return
	}
	mediaID := em.fake.AddMedia(data, ct)
	id := randomMsgID()
	msg := &csmsg.Image{Header: em.header(csmsg.MsgTypeImage), MsgID: id, PicURL: em.base + "media/" + url.PathEscape(mediaID), MediaID: mediaID}
	em.push(w, msg, &entry{Kind: "image", ImageURL: "/media/" + url.PathEscape(mediaID), MediaID: mediaID, MsgID: id})
}

func (em *emulator) postCard(w http.ResponseWriter, r *http.Request) {
	var form struct {
		Title    string `json:"title"`
		AppID    string `json:"app_id"`
		PagePath string `json:"page_path"`
	}
	if !readForm(w, r, &form) {
		return
	}
	if form.Title == "" {
		form.Title = defaultTitle
	}
	if form.AppID == "" {
		form.AppID = em.appID
	}
	if form.PagePath == "" {
		form.PagePath = defaultPagePath
	}
	id := randomMsgID()
	thumb := em.base + "media/" + url.PathEscape(em.thumb)
	msg := &csmsg.MiniProgramPage{Header: em.header(csmsg.MsgTypeMiniProgramPage), MsgID: id, Title: form.Title,
		AppID: form.AppID, PagePath: form.PagePath, ThumbURL: thumb, ThumbMediaID: em.thumb}
	em.push(w, msg, &entry{Kind: "miniprogrampage", Title: form.Title, AppID: form.AppID, PagePath: form.PagePath,
		ThumbURL: "/media/" + url.PathEscape(em.thumb), MediaID: em.thumb, MsgID: id})
}

// postAdvance moves the clock ahead, to let the reply window close.
func (em *emulator) postAdvance(w http.ResponseWriter, r *http.Request) {
	var form struct {
		Seconds int64 `json:"seconds"`
	}
	if !readForm(w, r, &form) {
		return
	}
	if form.Seconds <= 0 || form.Seconds > 30*24*3600 {
		http.Error(w, "seconds must be between 1 and 30 days", http.StatusBadRequest)
		return
	}
	d := time.Duration(form.Seconds) * time.Second
	em.mu.Lock()
	em.skew += d
	em.mu.Unlock()
	em.now()
	em.log(map[string]any{"type": "clock", "advanced": d.String()})
	em.add(&entry{From: "wechat", Kind: "note", Text: "the clock moved ahead " + d.String()})
	w.WriteHeader(http.StatusNoContent)
}

// postExpireTokens expires the bot's access tokens, to exercise its refetch.
func (em *emulator) postExpireTokens(w http.ResponseWriter, _ *http.Request) {
	em.fake.ExpireTokens()
	em.log(map[string]any{"type": "tokens", "expired": true})
	em.add(&entry{From: "wechat", Kind: "note", Text: "access tokens expired: the bot's next call gets 42001"})
	w.WriteHeader(http.StatusNoContent)
}

// serveMedia serves a temporary media to the page (what the bot uploaded or
// the user sent), from the fake.
func (em *emulator) serveMedia(w http.ResponseWriter, r *http.Request) {
	em.now()
	q := url.Values{"access_token": {em.fake.AccessToken()}, "media_id": {r.PathValue("id")}}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, kftest.PathGetMedia+"?"+q.Encode(), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	em.api.ServeHTTP(w, req)
}

// recorder passes an answer through and keeps the start of a JSON one.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	buf         bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = http.StatusOK, true
	}
	if n := 64<<10 - r.buf.Len(); n > 0 {
		r.buf.Write(p[:min(n, len(p))])
	}
	return r.ResponseWriter.Write(p)
}

// apiStatus decodes the errcode and errmsg of a JSON answer; an answer
// that is not JSON (a media file) is success.
func (r *recorder) apiStatus() (int, string) {
	var st struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if b := bytes.TrimSpace(r.buf.Bytes()); len(b) > 0 && b[0] == '{' {
		json.Unmarshal(b, &st)
	}
	return st.ErrCode, st.ErrMsg
}

// sendRequest is the body of a customerServiceMessage.send or setTyping.
type sendRequest struct {
	ToUser  string `json:"touser"`
	MsgType string `json:"msgtype"`
	Command string `json:"command"`
	Text    struct {
		Content string `json:"content"`
	} `json:"text"`
	Image struct {
		MediaID string `json:"media_id"`
	} `json:"image"`
	Link struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		URL         string `json:"url"`
		ThumbURL    string `json:"thumb_url"`
	} `json:"link"`
	Card struct {
		Title        string `json:"title"`
		PagePath     string `json:"pagepath"`
		ThumbMediaID string `json:"thumb_media_id"`
	} `json:"miniprogrampage"`
}

// serveAPI serves the bot's call with the fake and shows its outcome in the
// conversation.
func (em *emulator) serveAPI(w http.ResponseWriter, r *http.Request) {
	em.now()
	var reqBody []byte
	if r.URL.Path == kftest.PathSend || r.URL.Path == kftest.PathTyping {
		var err error
		reqBody, err = io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	rec := &recorder{ResponseWriter: w}
	em.api.ServeHTTP(rec, r)
	em.observe(r, reqBody, rec)
}

// apiHints explains the errcodes a bot causes.
var apiHints = map[int]string{
	-1:    "WeChat is busy: a send may or may not have reached the user",
	40001: "access token invalid or revoked: fetch a valid token and retry once",
	40003: "unknown openid: the user of this emulator is the one in the pushes",
	40007: "unknown media_id: upload the image first (uploadTempMedia)",
	40013: "wrong appid: use the AppID csmsg emulate printed",
	40125: "wrong AppSecret: use the one csmsg emulate printed",
	41001: "no access_token in the query",
	42001: "access token expired: fetch a new one and retry once",
	44004: "empty content",
	45002: "content too long",
	45015: "outside the reply window: the user must write again",
	45047: "the replies the user's last action allows are used up",
	47001: "the request body is not what the API documents",
	48001: "use /cgi-bin/stable_token: /cgi-bin/token's tokens replace each other",
}

// observe logs a call of the bot and adds what the user would see.
func (em *emulator) observe(r *http.Request, reqBody []byte, rec *recorder) {
	code, errmsg := rec.apiStatus()
	path := r.URL.Path
	var req sendRequest
	if reqBody != nil {
		json.Unmarshal(reqBody, &req)
	}
	line := map[string]any{"type": "api", "method": r.Method, "path": path, "status": rec.status, "errcode": code}
	if errmsg != "" {
		line["errmsg"] = errmsg
	}
	if req.MsgType != "" {
		line["msgtype"], line["touser"] = req.MsgType, req.ToUser
	}
	if req.Command != "" {
		line["command"], line["touser"] = req.Command, req.ToUser
	}
	if path == kftest.PathGetMedia || path == kftest.PathUpload {
		if id := r.URL.Query().Get("media_id"); id != "" {
			line["media_id"] = id
		}
	}
	em.log(line)

	call := strings.TrimPrefix(path, "/cgi-bin/")
	if code != 0 || rec.status != http.StatusOK {
		e := &entry{From: "bot", Kind: "error", Call: call, Code: code, Text: errmsg, Hint: apiHints[code]}
		if rec.status != http.StatusOK && code == 0 {
			e.Text = fmt.Sprintf("status %d", rec.status)
			if rec.status == http.StatusNotFound {
				e.Hint = "this emulator serves stable_token, message/custom/send and typing, media/upload and media/get"
			}
		}
		if path == kftest.PathSend {
			e.Title = "tried to send " + req.MsgType + ": " + summarizeSend(req)
		}
		if path == kftest.PathTyping {
			e.Title = "tried to set " + req.Command
		}
		em.add(e)
		return
	}
	switch path {
	case kftest.PathSend:
		em.mu.Lock()
		em.window.Left--
		em.typing = time.Time{}
		win := fmt.Sprintf("%d of %d replies left", em.window.Left, em.window.Quota)
		em.mu.Unlock()
		e := &entry{From: "bot", Kind: req.MsgType, Window: win}
		switch req.MsgType {
		case "text":
			e.Text = req.Text.Content
		case "image":
			e.MediaID = req.Image.MediaID
			e.ImageURL = "/media/" + url.PathEscape(req.Image.MediaID)
		case "link":
			e.Title, e.Description, e.URL, e.ThumbURL = req.Link.Title, req.Link.Description, req.Link.URL, req.Link.ThumbURL
		case "miniprogrampage":
			e.Title, e.PagePath, e.MediaID = req.Card.Title, req.Card.PagePath, req.Card.ThumbMediaID
			e.ThumbURL = "/media/" + url.PathEscape(req.Card.ThumbMediaID)
			e.AppID = em.appID
		}
		em.add(e)
	case kftest.PathTyping:
		em.mu.Lock()
		if req.Command == "Typing" {
			em.typing = time.Now().Add(em.skew).Add(kftest.TypingDuration)
		} else {
			em.typing = time.Time{}
		}
		em.mu.Unlock()
		em.add(&entry{From: "bot", Kind: "typing", Text: req.Command})
	}
}

// summarizeSend describes a send in a few words.
func summarizeSend(req sendRequest) string {
	switch req.MsgType {
	case "text":
		return firstRunes([]byte(req.Text.Content), 60)
	case "image":
		return req.Image.MediaID
	case "link":
		return req.Link.Title
	case "miniprogrampage":
		return req.Card.Title
	}
	return ""
}

// coverPNG draws the default cover of the cards the user sends.
func coverPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 160, 128))
	for y := 0; y < 128; y++ {
		for x := 0; x < 160; x++ {
			img.Set(x, y, color.RGBA{R: 7, G: uint8(150 + y/3), B: uint8(90 + x/4), A: 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
