package csmsgtest

import "time"

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

// user is the reply-window state of one openid the test declared.
type user struct {
	windowEnd    time.Time // sends are allowed before it
	left         int       // sends left in the window
	lastExchange time.Time // the last message either way; zero if none
	typingUntil  time.Time // the typing status lasts until then
}

// act resets the window after a user action at now.
func (u *user) act(now time.Time, window time.Duration, quota int) {
	u.windowEnd, u.left = now.Add(window), quota
}

// send takes one message from the quota at now, or returns the errcode
// that refuses it.
func (u *user) send(now time.Time) int {
	if !now.Before(u.windowEnd) {
		return codeOutsideWindow
	}
	if u.left <= 0 {
		return codeQuotaUsedUp
	}
	u.left--
	u.lastExchange = now
	u.typingUntil = time.Time{} // sending a message cancels typing
	return 0
}

// setTyping applies a typing command at now, or returns the errcode that
// refuses it: outside the typing window, or Typing while typing.
func (u *user) setTyping(now time.Time, typing bool) int {
	if u.lastExchange.IsZero() || !now.Before(u.lastExchange.Add(TypingWindow)) {
		return codeOutsideWindow
	}
	if !typing {
		u.typingUntil = time.Time{}
		return 0
	}
	if now.Before(u.typingUntil) {
		return codeOutsideWindow
	}
	u.typingUntil = now.Add(TypingDuration)
	return 0
}
