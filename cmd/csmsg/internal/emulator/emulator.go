// Package emulator is the local WeChat of "csmsg emulate": the offline
// customer-service API of package kftest, mounted as it is, and one user's
// conversation with the bot, shown on a chat page. Its files follow its
// jobs: conversation.go keeps the conversation and streams its changes to
// the page, user.go turns the user's actions into pushes, calls.go shows
// the API calls the bot makes.
package emulator

import (
	"context"
	"embed"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/cmd/csmsg/internal/deliver"
	"github.com/csmsg/csmsg/kf/kftest"
)

//go:embed web
var webFiles embed.FS

// Config is what an Emulator is made of.
type Config struct {
	// Deliver sends body, a plaintext push, to the bot as WeChat does
	// (signed, with retries), calling report after each attempt.
	Deliver func(ctx context.Context, body []byte, report func(deliver.Attempt))
	// Endpoint is the bot's push URL and Mode the encryption mode's name,
	// for display.
	Endpoint, Mode string
	// Format is the data format of the pushes.
	Format csmsg.Format
	// AppID and Secret are the mini program's credentials at the API.
	AppID, Secret string
	// User is the openid of the user the developer plays, BotID the mini
	// program's original id (ToUserName of the pushes).
	User, BotID string
	// Base is the emulator's own URL, ending in '/'.
	Base string
	// Log receives a JSON line per push attempt and API call; it must be
	// safe for concurrent use.
	Log io.Writer
	// SessionFrom, CardTitle and CardPagePath fill what the page's forms
	// leave empty.
	SessionFrom, CardTitle, CardPagePath string
	// NewMsgID returns the MsgId of a user's message.
	NewMsgID func() string
}

// Emulator is a local WeChat: the kftest fake of the customer-service API,
// watched, and one user's conversation with the bot.
type Emulator struct {
	Config
	ctx   context.Context
	api   *kftest.Handler
	clock clock
	thumb string // the media id of the default card cover
	wg    sync.WaitGroup

	mu      sync.Mutex
	entries []*Entry
	seq     int           // bumped on every change
	changed chan struct{} // closed and replaced on every change
}

// New returns an Emulator for cfg; its pushes and event streams end with
// ctx.
func New(ctx context.Context, cfg Config) *Emulator {
	em := &Emulator{
		Config:  cfg,
		ctx:     ctx,
		api:     kftest.NewHandler(cfg.AppID, cfg.Secret),
		changed: make(chan struct{}),
	}
	em.api.SetClock(em.clock.now) // the fake and the page share one clock
	em.api.OnCall(em.observe)
	em.thumb = em.api.AddMedia(coverPNG(), "image/png")
	return em
}

// Close waits for the pushes in flight.
func (em *Emulator) Close() {
	em.wg.Wait()
}

// Handler serves the API, the page and the page's endpoints.
func (em *Emulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/cgi-bin/", em.api)
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

// clock is the emulator's time: the real time, moved ahead by the page's
// clock buttons. The fake API reads it too (SetClock in New).
type clock struct {
	mu   sync.Mutex
	skew time.Duration // how far the clock was moved ahead
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.skew)
}

// advance moves the clock ahead by d.
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.skew += d
	c.mu.Unlock()
}

// ahead returns how far the clock was moved ahead.
func (c *clock) ahead() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.skew
}

// log prints one JSON line on the log.
func (em *Emulator) log(v map[string]any) {
	v["time"] = time.Now().Format(time.RFC3339Nano)
	writeJSON(em.Log, v)
}

// writeJSON writes v as one line of JSON, without HTML escaping.
func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
