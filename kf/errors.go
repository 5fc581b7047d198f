package kf

import (
	"errors"
	"fmt"

	"github.com/csmsg/csmsg/internal/kfwire"
)

// Sentinel errors of a [Client]. An errcode WeChat answers is not one of
// these but an *[Error].
var (
	// ErrInvalidConfig means NewClient was given a Config it cannot use, or
	// a StableTokenSource lacks its AppID or AppSecret. The error text says
	// which field.
	ErrInvalidConfig = errors.New("kf: invalid config")

	// ErrBadResponse means an answer is not what the API documents: a
	// status other than 200, a body that is not JSON (an HTML page from a
	// proxy), truncated or trailing JSON, a field of the wrong type, a JSON
	// answer longer than 1 MiB, a success without its media_id or
	// access_token, or a media download labelled as text. The error text
	// says which, but never holds the body.
	ErrBadResponse = errors.New("kf: bad response from wechat")

	// ErrMediaTooLarge means a file is longer than Config.MaxMediaBytes:
	// UploadTempMedia read more than that from its reader (nothing was
	// sent), or GetTempMedia was answered a longer file (the writer holds at
	// most MaxMediaBytes of it and must be discarded).
	ErrMediaTooLarge = errors.New("kf: media too large")
)

// Errcodes of the customer-service API that a bot branches on. Every one
// comes back as an *[Error] whose Code is the errcode.
const (
	// CodeSystemBusy (-1): WeChat is busy. Not retried automatically: a
	// send is not idempotent; see [Client].
	CodeSystemBusy = kfwire.CodeSystemBusy

	// CodeInvalidCredential (40001): WeChat rejected the access token.
	// For this and the two codes below, the Client asks its TokenSource for
	// another token and retries once, so a caller sees them only if the
	// second token was rejected too.
	CodeInvalidCredential = kfwire.CodeInvalidCredential
	// CodeInvalidAccessToken (40014): the access token is invalid.
	CodeInvalidAccessToken = kfwire.CodeInvalidAccessToken
	// CodeAccessTokenExpired (42001): the access token has expired.
	CodeAccessTokenExpired = kfwire.CodeAccessTokenExpired

	// CodeInvalidOpenID (40003): the openid is not a user of this mini
	// program. Do not retry.
	CodeInvalidOpenID = kfwire.CodeInvalidOpenID

	// CodeInvalidMediaType (40004): the upload is not of a supported
	// type (only images are).
	CodeInvalidMediaType = kfwire.CodeInvalidMediaType

	// CodeInvalidMediaID (40007): the media id is unknown or older than
	// the 3 days a temporary media lives. Do not retry.
	CodeInvalidMediaID = kfwire.CodeInvalidMediaID

	// CodeContentTooLong (45002): the message is too long. Do not retry.
	CodeContentTooLong = kfwire.CodeContentTooLong

	// CodeOutsideWindow (45015): the reply window is closed: the user
	// last wrote more than 48 hours ago, or entered the chat more than a
	// minute ago without writing. Do not retry; the user must write again.
	CodeOutsideWindow = kfwire.CodeOutsideWindow

	// CodeQuotaUsedUp (45047): the replies the user's last action allows
	// are used up (5 after a message, 2 after entering the chat). Do not
	// retry.
	CodeQuotaUsedUp = kfwire.CodeQuotaUsedUp

	// CodeDailyLimit (45009): the mini program's API quota for the day
	// is reached. Back off.
	CodeDailyLimit = kfwire.CodeDailyLimit
	// CodeMinuteLimit (45011): the API quota for the minute is reached.
	// Back off.
	CodeMinuteLimit = kfwire.CodeMinuteLimit
)

// Error is an answer of WeChat's API with an errcode other than 0. Match
// it with [errors.As] and branch on Code (the Code constants name the
// ones that matter):
//
//	var apiErr *kf.Error
//	if errors.As(err, &apiErr) && apiErr.Code == kf.CodeOutsideWindow {
//		// the user must write again before the bot can answer
//	}
type Error struct {
	// Code is WeChat's errcode.
	Code int

	// Msg is WeChat's errmsg, as WeChat wrote it (often with a request id,
	// "rid: ..."), with any access token or AppSecret in it replaced.
	Msg string
}

// Error returns "kf: wechat api error CODE: "MSG"".
func (e *Error) Error() string {
	return fmt.Sprintf("kf: wechat api error %d: %q", e.Code, e.Msg)
}

// Permanent reports whether sending the same request again cannot succeed:
// an openid, media id or content WeChat refuses (40003, 40004–40008,
// 44004, 45002, 47001), or a reply window that is closed or used up until
// the user acts (45015, 45047). A queue that retries failed work, such as
// the inbox module's, finds this method with errors.As and gives up on
// such a job at once instead of retrying it.
func (e *Error) Permanent() bool {
	return kfwire.Final(e.Code)
}

// tokenRejected reports whether code means WeChat rejected the access token:
// the call did nothing and may be retried with another token.
func tokenRejected(code int) bool {
	switch code {
	case CodeInvalidCredential, CodeInvalidAccessToken, CodeAccessTokenExpired:
		return true
	}
	return false
}

// badResponse returns an ErrBadResponse for the call at path, with detail.
func badResponse(path, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrBadResponse, path, fmt.Sprintf(format, args...))
}
