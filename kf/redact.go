package kf

import (
	"errors"
	"net/url"
	"strings"
)

// redacted replaces a secret in error and log text.
const redacted = "REDACTED"

// redact returns err without secret in its text. A *url.Error (the
// transport's, which quotes the URL with the access token) is rebuilt with
// the secret replaced in its URL, so that errors.As still finds a
// *url.Error, and errors.Is its cause (context.DeadlineExceeded, ...).
// Anything else that holds the secret is wrapped in an error whose text
// does not.
func redact(err error, secret string) error {
	if err == nil || secret == "" {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue == err {
		inner := ue.Err
		if inner != nil && holds(inner.Error(), secret) {
			inner = &redactedError{err: inner, secret: secret}
		}
		return &url.Error{Op: ue.Op, URL: redactString(ue.URL, secret), Err: inner}
	}
	if holds(err.Error(), secret) {
		return &redactedError{err: err, secret: secret}
	}
	return err
}

// holds reports whether s holds secret, raw or query-escaped.
func holds(s, secret string) bool {
	return redactString(s, secret) != s
}

// redactString replaces secret, raw and query-escaped, in s.
func redactString(s, secret string) string {
	if secret == "" {
		return s
	}
	s = strings.ReplaceAll(s, secret, redacted)
	if esc := url.QueryEscape(secret); esc != secret {
		s = strings.ReplaceAll(s, esc, redacted)
	}
	return s
}

// redactedError is an error whose text holds a secret, with the secret
// replaced.
type redactedError struct {
	err    error
	secret string
}

func (e *redactedError) Error() string { return redactString(e.err.Error(), e.secret) }
func (e *redactedError) Unwrap() error { return e.err }
