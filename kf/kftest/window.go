package kftest

import (
	"time"

	"github.com/csmsg/csmsg/internal/kfwire"
)

// The reply window, as WeChat documents it: each user action resets the
// quota to that action's count and window (the quotas do not add up).
const (
	// MessageWindow and MessageQuota: after a user's message, 5 messages
	// within 48 hours.
	MessageWindow = 48 * time.Hour
	MessageQuota  = 5

	// SessionWindow and SessionQuota: after a user enters the
	// customer-service chat (user_enter_tempsession), 2 messages within a
	// minute.
	SessionWindow = time.Minute
	SessionQuota  = 2

	// TypingWindow: typing is allowed within 30 seconds of a message
	// between the user and the mini program, either way.
	TypingWindow = 30 * time.Second

	// TypingDuration: a typing status lasts 15 seconds, and cannot be set
	// again meanwhile.
	TypingDuration = 15 * time.Second
)

// The causes of a Window.
const (
	CauseMessage = "message" // the user sent a message: UserMessage
	CauseEnter   = "enter"   // the user entered the chat: UserEnteredSession
)

// Window is the reply window of one user the test declared, as the
// Handler keeps it: see [Handler.Window].
type Window struct {
	// Cause is the user's last action, CauseMessage or CauseEnter.
	Cause string
	// End: sends are allowed before it.
	End time.Time
	// Left is how many sends are left in the window.
	Left int
	// Quota is how many sends the last action allowed.
	Quota int
	// LastExchange is the time of the last message either way; zero if
	// none.
	LastExchange time.Time
	// TypingUntil: the bot's typing status lasts until then.
	TypingUntil time.Time
}

// Open reports whether a send at now would be within the window (the
// quota aside).
func (w Window) Open(now time.Time) bool {
	return w.Cause != "" && now.Before(w.End)
}

// Typing reports whether the bot's typing status shows at now.
func (w Window) Typing(now time.Time) bool {
	return now.Before(w.TypingUntil)
}

// act resets the window after a user action at now.
func (w *Window) act(now time.Time, cause string, window time.Duration, quota int) {
	w.Cause, w.End, w.Left, w.Quota = cause, now.Add(window), quota, quota
}

// send takes one message from the quota at now, or returns the errcode
// that refuses it.
func (w *Window) send(now time.Time) int {
	if !now.Before(w.End) {
		return kfwire.CodeOutsideWindow
	}
	if w.Left <= 0 {
		return kfwire.CodeQuotaUsedUp
	}
	w.Left--
	w.LastExchange = now
	w.TypingUntil = time.Time{} // sending a message cancels typing
	return 0
}

// setTyping applies a typing command at now, or returns the errcode that
// refuses it: outside the typing window, or Typing while typing.
func (w *Window) setTyping(now time.Time, typing bool) int {
	if w.LastExchange.IsZero() || !now.Before(w.LastExchange.Add(TypingWindow)) {
		return kfwire.CodeOutsideWindow
	}
	if !typing {
		w.TypingUntil = time.Time{}
		return 0
	}
	if now.Before(w.TypingUntil) {
		return kfwire.CodeOutsideWindow
	}
	w.TypingUntil = now.Add(TypingDuration)
	return 0
}
