// Package csmsg receives WeChat Mini Program customer-service pushes
// (客服消息): the messages a user sends in a mini program's customer-service
// chat, which WeChat's servers POST to the developer's URL as XML or JSON.
//
// # Parsing
//
// [Parse] turns a push body into a typed [Message]. It sniffs XML or JSON
// from the body itself (never from the Content-Type header, which WeChat has
// been seen to get wrong); [ParseXML] and [ParseJSON] skip the sniffing.
// Switch on the result's type:
//
//	msg, err := csmsg.Parse(body)
//	if err != nil {
//		return err // errors.Is(err, csmsg.ErrMalformed), ...
//	}
//	switch m := msg.(type) {
//	case *csmsg.Text:                 // MsgType "text"
//	case *csmsg.Image:                // MsgType "image"
//	case *csmsg.MiniProgramPage:      // MsgType "miniprogrampage"
//	case *csmsg.UserEnterTempSession: // MsgType "event", Event "user_enter_tempsession"
//	case *csmsg.Unknown:              // anything else, with the whole body in m.Raw
//	}
//
// A push of a kind this package has no type for (WeChat's debug_demo,
// subscribe-message events, media-check results, ...) is not an error: it
// comes back as *[Unknown] with its header, its Event and the exact body, so
// a new kind of push never breaks a backend and nothing is dropped.
//
// # Field quirks
//
// WeChat's pushes differ from their documentation in ways this package
// absorbs:
//
//   - MsgId is a 64-bit integer that exceeds 2^53 in real traffic, so it is
//     kept as the exact decimal text (Text.MsgID and the others), never
//     passed through a float64. JSON pushes send it as a number or a string.
//   - CreateTime comes as a JSON number or a JSON string holding one.
//   - XML values come as CDATA sections or text with entities, with newlines
//     between elements; unknown elements, however nested, are skipped.
//   - JSON keys and XML element names match WeChat's spelling exactly:
//     "msgtype" is not "MsgType" (encoding/json alone would match it).
//
// # Errors
//
// Every error matches one of the sentinels with [errors.Is]:
// [ErrUnknownFormat] for a body that is neither XML nor JSON,
// [ErrMalformed] for one that is not a well-formed push, and [ErrEncrypted]
// for a safe-mode envelope, which only a receiver holding the
// EncodingAESKey can read. No function in this package panics, whatever the
// input.
//
// # Writing
//
// [Marshal] writes a message as WeChat would push it, which is what tests of
// a backend need: Parse(Marshal(m, f)) returns m.
package csmsg
