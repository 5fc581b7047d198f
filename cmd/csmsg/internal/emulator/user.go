package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/cmd/csmsg/internal/deliver"
	"github.com/csmsg/csmsg/kf/kftest"
)

// userActed records a user's action with WeChat: the reply window opens.
func (em *Emulator) userActed(enter bool) {
	if enter {
		em.api.UserEnteredSession(em.User)
	} else {
		em.api.UserMessage(em.User)
	}
}

// push sends msg to the bot in the background, recording it as e.
func (em *Emulator) push(w http.ResponseWriter, msg csmsg.Message, e *Entry) {
	body, err := csmsg.Marshal(msg, em.Format)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	_, enter := msg.(*csmsg.UserEnterTempSession)
	em.userActed(enter)
	e.From = "user"
	e.Delivery = &Delivery{State: "sending", Format: em.Format.String(), Mode: em.Mode}
	em.add(e)
	em.wg.Add(1)
	go func() {
		defer em.wg.Done()
		kind := msg.MsgHeader().MsgType
		if enter {
			kind = csmsg.EventUserEnterTempSession
		}
		var last deliver.Attempt
		em.Deliver(em.ctx, body, func(a deliver.Attempt) {
			em.log(map[string]any{"type": "push", "kind": kind, "msg_id": e.MsgID, "to": em.Endpoint,
				"format": em.Format.String(), "mode": em.Mode, "attempt": a.Attempt,
				"ok": a.OK, "status": a.Status, "ms": a.Millis, "answer": a.Answer, "error": a.Error})
			em.mu.Lock()
			e.Delivery.Attempts = append(e.Delivery.Attempts, a)
			em.bumpLocked()
			em.mu.Unlock()
			last = a
		})
		em.mu.Lock()
		e.Delivery.State = "failed"
		if last.OK {
			e.Delivery.State = "ok"
		}
		attempts := len(e.Delivery.Attempts)
		em.bumpLocked()
		em.mu.Unlock()
		if !last.OK {
			em.add(&Entry{From: "wechat", Kind: "error", Call: "push",
				Text: fmt.Sprintf("the bot did not answer the push well in %d attempts: %s", attempts, last.Error),
				Hint: "WeChat shows the user: 该小程序客服暂时无法提供服务 (the service is unavailable)"})
			return
		}
		if last.Reply != nil {
			em.add(&Entry{From: "bot", Kind: "transfer", Text: "passive reply transfer_customer_service: the conversation goes to the customer-service tool"})
		}
	}()
	w.Header().Set("Content-Type", "application/json")
	writeJSON(w, map[string]any{"id": e.ID})
}

// header returns the header of a push from the user, now.
func (em *Emulator) header(msgType string) csmsg.Header {
	return csmsg.Header{ToUserName: em.BotID, FromUserName: em.User, CreateTime: em.clock.now().Unix(), MsgType: msgType}
}

// readForm decodes a JSON request body of the page into v.
func readForm(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil && err != io.EOF {
		http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func (em *Emulator) postEnter(w http.ResponseWriter, r *http.Request) {
	var form struct {
		SessionFrom string `json:"session_from"`
	}
	if !readForm(w, r, &form) {
		return
	}
	if form.SessionFrom == "" {
		form.SessionFrom = em.SessionFrom
	}
	msg := &csmsg.UserEnterTempSession{Header: em.header(csmsg.MsgTypeEvent), Event: csmsg.EventUserEnterTempSession, SessionFrom: form.SessionFrom}
	em.push(w, msg, &Entry{Kind: "enter", Text: "entered the chat (session-from " + form.SessionFrom + ")"})
}

func (em *Emulator) postText(w http.ResponseWriter, r *http.Request) {
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
	id := em.NewMsgID()
	msg := &csmsg.Text{Header: em.header(csmsg.MsgTypeText), MsgID: id, Content: form.Content}
	em.push(w, msg, &Entry{Kind: "text", Text: form.Content, MsgID: id})
}

func (em *Emulator) postImage(w http.ResponseWriter, r *http.Request) {
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
	mediaID := em.api.AddMedia(data, ct)
	id := em.NewMsgID()
	msg := &csmsg.Image{Header: em.header(csmsg.MsgTypeImage), MsgID: id, PicURL: em.Base + "media/" + url.PathEscape(mediaID), MediaID: mediaID}
	em.push(w, msg, &Entry{Kind: "image", ImageURL: "/media/" + url.PathEscape(mediaID), MediaID: mediaID, MsgID: id})
}

func (em *Emulator) postCard(w http.ResponseWriter, r *http.Request) {
	var form struct {
		Title    string `json:"title"`
		AppID    string `json:"app_id"`
		PagePath string `json:"page_path"`
	}
	if !readForm(w, r, &form) {
		return
	}
	if form.Title == "" {
		form.Title = em.CardTitle
	}
	if form.AppID == "" {
		form.AppID = em.AppID
	}
	if form.PagePath == "" {
		form.PagePath = em.CardPagePath
	}
	id := em.NewMsgID()
	thumb := em.Base + "media/" + url.PathEscape(em.thumb)
	msg := &csmsg.MiniProgramPage{Header: em.header(csmsg.MsgTypeMiniProgramPage), MsgID: id, Title: form.Title,
		AppID: form.AppID, PagePath: form.PagePath, ThumbURL: thumb, ThumbMediaID: em.thumb}
	em.push(w, msg, &Entry{Kind: "miniprogrampage", Title: form.Title, AppID: form.AppID, PagePath: form.PagePath,
		ThumbURL: "/media/" + url.PathEscape(em.thumb), MediaID: em.thumb, MsgID: id})
}

// postAdvance moves the clock ahead, to let the reply window close.
func (em *Emulator) postAdvance(w http.ResponseWriter, r *http.Request) {
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
	em.clock.advance(d)
	em.log(map[string]any{"type": "clock", "advanced": d.String()})
	em.add(&Entry{From: "wechat", Kind: "note", Text: "the clock moved ahead " + d.String()})
	w.WriteHeader(http.StatusNoContent)
}

// postExpireTokens expires the bot's access tokens, to exercise its refetch.
func (em *Emulator) postExpireTokens(w http.ResponseWriter, _ *http.Request) {
	em.api.ExpireTokens()
	em.log(map[string]any{"type": "tokens", "expired": true})
	em.add(&Entry{From: "wechat", Kind: "note", Text: "access tokens expired: the bot's next call gets 42001"})
	w.WriteHeader(http.StatusNoContent)
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
