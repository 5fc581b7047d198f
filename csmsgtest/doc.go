// Package csmsgtest helps test code built on csmsg without WeChat, as
// net/http/httptest does for HTTP: it builds the pushes WeChat would send
// to a backend, signed and encrypted in any of the three modes. (The
// offline stand-in for WeChat's customer-service API is package
// github.com/csmsg/csmsg/kf/kftest.)
//
// Its promise holds by construction: what [Sign] builds for a csmsg.Config,
// a csmsg.Receiver with that Config accepts, and a mode that Config would
// refuse is an error here, never a push that is silently refused later.
package csmsgtest
