// Package kftest is an offline WeChat customer-service API (客服消息), for
// tests of a [github.com/csmsg/csmsg/kf.Client] or of any other client, as
// net/http/httptest is for HTTP.
//
// [NewHandler] returns the fake as an http.Handler with its state, for a
// tool that mounts it on its own server (the csmsg emulator does);
// [NewServer] starts it on a local listener, whose URL a client takes as its
// BaseURL. A test declares what the user did (UserMessage,
// UserEnteredSession), lets the code under test answer, and asserts what
// was sent (Sent, WaitSent, Typing); Window and OnCall let a tool watch the
// reply window and every call as it happens.
package kftest
