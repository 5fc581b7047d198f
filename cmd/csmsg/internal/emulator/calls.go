package emulator

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/csmsg/csmsg/internal/kfwire"
	"github.com/csmsg/csmsg/kf/kftest"
)

// isTokenError reports whether errcode refuses the access token, an error
// a client gets over by fetching a new token and retrying.
func isTokenError(errcode int) bool {
	switch errcode {
	case kfwire.CodeInvalidCredential, kfwire.CodeInvalidAccessToken, kfwire.CodeAccessTokenExpired:
		return true
	}
	return false
}

// observe logs a call of the bot, as the fake API answered it, and adds
// what the user would see.
func (em *Emulator) observe(c kftest.Call) {
	line := map[string]any{"type": "api", "method": c.Method, "path": c.Path, "status": c.Status, "errcode": c.ErrCode}
	if c.ErrMsg != "" {
		line["errmsg"] = c.ErrMsg
	}
	if c.Send != nil && c.Send.MsgType != "" {
		line["msgtype"], line["touser"] = c.Send.MsgType, c.Send.ToUser
	}
	if c.Typing != nil && c.Typing.Command != "" {
		line["command"], line["touser"] = c.Typing.Command, c.Typing.ToUser
	}
	if (c.Path == kftest.PathGetMedia || c.Path == kftest.PathUpload) && c.MediaID != "" {
		line["media_id"] = c.MediaID
	}
	em.log(line)

	send, typing := c.Send, c.Typing
	if send == nil {
		send = &kftest.SentMessage{}
	}
	if typing == nil {
		typing = &kftest.TypingEvent{}
	}
	call := strings.TrimPrefix(c.Path, "/cgi-bin/")
	if c.ErrCode != 0 || c.Status != http.StatusOK {
		e := &Entry{From: "bot", Kind: "error", Call: call, Code: c.ErrCode, Text: c.ErrMsg, Hint: kfwire.Hint(c.ErrCode)}
		if c.Status != http.StatusOK && c.ErrCode == 0 {
			e.Text = fmt.Sprintf("status %d", c.Status)
			if c.Status == http.StatusNotFound {
				e.Hint = "this emulator serves stable_token, message/custom/send and typing, media/upload and media/get"
			}
		}
		switch c.Path {
		case kftest.PathSend:
			e.Title = "tried to send " + send.MsgType + ": " + summarizeSend(send)
		case kftest.PathTyping:
			e.Title = "tried to set " + typing.Command
		}
		em.add(e)
		return
	}
	em.recovered(call)
	switch c.Path {
	case kftest.PathSend:
		e := &Entry{From: "bot", Kind: send.MsgType}
		if w := c.Window; w != nil {
			e.Window = fmt.Sprintf("%d of %d replies left", w.Left, w.Quota)
		}
		switch send.MsgType {
		case kfwire.MsgTypeText:
			e.Text = send.Text
		case kfwire.MsgTypeImage:
			e.MediaID = send.MediaID
			e.ImageURL = "/media/" + url.PathEscape(send.MediaID)
		case kfwire.MsgTypeLink:
			e.Title, e.Description, e.URL, e.ThumbURL = send.Link.Title, send.Link.Description, send.Link.URL, send.Link.ThumbURL
		case kfwire.MsgTypeMiniProgramPage:
			e.Title, e.PagePath, e.MediaID = send.Card.Title, send.Card.PagePath, send.Card.ThumbMediaID
			e.ThumbURL = "/media/" + url.PathEscape(send.Card.ThumbMediaID)
			e.AppID = em.AppID
		}
		em.add(e)
	case kftest.PathTyping:
		em.add(&Entry{From: "bot", Kind: "typing", Text: typing.Command})
	}
}

// summarizeSend describes a send in a few words.
func summarizeSend(m *kftest.SentMessage) string {
	switch m.MsgType {
	case kfwire.MsgTypeText:
		return firstRunes(m.Text, 60)
	case kfwire.MsgTypeImage:
		return m.MediaID
	case kfwire.MsgTypeLink:
		return m.Link.Title
	case kfwire.MsgTypeMiniProgramPage:
		return m.Card.Title
	}
	return ""
}

// firstRunes returns at most n runes of s.
func firstRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "..."
	}
	return s
}

// serveMedia serves a temporary media to the page (what the bot uploaded or
// the user sent), from the fake.
func (em *Emulator) serveMedia(w http.ResponseWriter, r *http.Request) {
	data, contentType, ok := em.api.Media(r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}
