package csmsg

// Event values of the events this package decodes into typed structs.
const (
	// EventUserEnterTempSession is sent when a user enters the
	// customer-service chat from the mini program's contact button.
	EventUserEnterTempSession = "user_enter_tempsession"
)

// UserEnterTempSession is the event WeChat sends when a user enters the
// customer-service chat through the mini program's contact button
// (<button open-type="contact">): MsgType "event", Event
// "user_enter_tempsession".
type UserEnterTempSession struct {
	Header
	// Event is "user_enter_tempsession".
	Event string
	// SessionFrom is the session-from attribute the developer set on the
	// contact button.
	SessionFrom string
}
