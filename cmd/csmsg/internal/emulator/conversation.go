package emulator

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/csmsg/csmsg/cmd/csmsg/internal/deliver"
)

// eventWriteTimeout is how long the page has to take each server-sent
// event: the stream outlives the server's WriteTimeout, so each event
// extends it.
const eventWriteTimeout = 10 * time.Second

// ReplyWindow is the user's reply window, as the page shows it.
type ReplyWindow struct {
	Cause string    `json:"cause,omitempty"` // "message" or "enter", "" before any action
	Until time.Time `json:"until"`
	Left  int       `json:"left"`
	Quota int       `json:"quota"`
	Open  bool      `json:"open"`
}

// Entry is one line of the conversation.
type Entry struct {
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
	Delivery *Delivery `json:"delivery,omitempty"`
	// Window is the reply window after a bot's send.
	Window string `json:"window,omitempty"`
	// Call, Code and Hint describe an API error the bot caused.
	Call string `json:"call,omitempty"`
	Code int    `json:"code,omitempty"`
	Hint string `json:"hint,omitempty"`
	// Recovered marks an API error the bot's client got over by itself: a
	// token error (40001, 40014, 42001) followed by a successful call of
	// the same kind, as a client that refetches its token and retries
	// makes. The page shows it as an event, not as an error.
	Recovered bool `json:"recovered,omitempty"`
}

// Delivery is the state of a push.
type Delivery struct {
	State    string            `json:"state"` // "sending", "ok" or "failed"
	Format   string            `json:"format"`
	Mode     string            `json:"mode"`
	Attempts []deliver.Attempt `json:"attempts"`
}

// Conversation is what GET /api/conversation answers.
type Conversation struct {
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
	Window   ReplyWindow `json:"window"`
	Typing   bool        `json:"typing"`
	Entries  []*Entry    `json:"entries"`
}

// add appends an entry and tells the page.
func (em *Emulator) add(e *Entry) {
	if e.Time.IsZero() {
		e.Time = em.clock.now()
	}
	em.mu.Lock()
	e.ID = len(em.entries) + 1
	em.entries = append(em.entries, e)
	em.bumpLocked()
	em.mu.Unlock()
}

// recovered marks the unrecovered token errors of call as recovered: a
// call of that kind just succeeded.
func (em *Emulator) recovered(call string) {
	em.mu.Lock()
	defer em.mu.Unlock()
	changed := false
	for _, e := range em.entries {
		if e.Kind == "error" && e.From == "bot" && e.Call == call && !e.Recovered && isTokenError(e.Code) {
			e.Recovered = true
			changed = true
		}
	}
	if changed {
		em.bumpLocked()
	}
}

// bumpLocked tells the page that the conversation changed. em.mu is held.
func (em *Emulator) bumpLocked() {
	em.seq++
	close(em.changed)
	em.changed = make(chan struct{})
}

// snapshot returns the conversation as the page sees it. The window is
// read after the entries, so that it is at least as new as they are.
func (em *Emulator) snapshot() Conversation {
	em.mu.Lock()
	c := Conversation{Seq: em.seq, Entries: make([]*Entry, len(em.entries))}
	for i, e := range em.entries {
		cp := *e
		if e.Delivery != nil {
			d := *e.Delivery
			d.Attempts = append([]deliver.Attempt(nil), d.Attempts...)
			cp.Delivery = &d
		}
		c.Entries[i] = &cp
	}
	em.mu.Unlock()
	now := em.clock.now()
	w, _ := em.api.Window(em.User)
	c.User, c.BotID, c.AppID = em.User, em.BotID, em.AppID
	c.Endpoint, c.Format, c.Mode = em.Endpoint, em.Format.String(), em.Mode
	c.BaseURL, c.Now = strings.TrimSuffix(em.Base, "/"), now
	c.Window = ReplyWindow{Cause: w.Cause, Until: w.End, Left: w.Left, Quota: w.Quota, Open: w.Open(now)}
	c.Typing = w.Typing(now)
	if skew := em.clock.ahead(); skew != 0 {
		c.Skew = skew.String()
	}
	return c
}

func (em *Emulator) serveConversation(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, em.snapshot())
}

// serveEvents sends the page a server-sent event with the sequence number
// on every change; the page then fetches the conversation.
func (em *Emulator) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	for {
		em.mu.Lock()
		seq, changed := em.seq, em.changed
		em.mu.Unlock()
		rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
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
