package kftest

import "net/http/httptest"

// Server is a [Handler] served on a local listener: point a client's
// BaseURL at URL. Close it when done.
type Server struct {
	// Server is the HTTP server: URL, Close, ...
	*httptest.Server

	// Handler is the fake, with its state: UserMessage, Sent, ...
	*Handler
}

// NewServer starts a Server for the mini program with appID and secret.
func NewServer(appID, secret string) *Server {
	h := NewHandler(appID, secret)
	return &Server{Server: httptest.NewServer(h), Handler: h}
}
