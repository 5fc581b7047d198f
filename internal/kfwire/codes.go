package kfwire

// Errcodes of the API.
const (
	CodeOK                 = 0
	CodeSystemBusy         = -1
	CodeInvalidCredential  = 40001 // unknown or revoked access token
	CodeInvalidGrantType   = 40002
	CodeInvalidOpenID      = 40003
	CodeInvalidMediaType   = 40004
	CodeInvalidFileType    = 40005
	CodeInvalidFileSize    = 40006
	CodeInvalidMediaID     = 40007
	CodeInvalidMsgType     = 40008
	CodeInvalidAppID       = 40013
	CodeInvalidAccessToken = 40014
	CodeInvalidAppSecret   = 40125
	CodeNoAccessToken      = 41001
	CodeNoAppID            = 41002
	CodeNoAppSecret        = 41004
	CodeNoMediaData        = 41005
	CodeAccessTokenExpired = 42001
	CodeRequireGET         = 43001
	CodeRequirePOST        = 43002
	CodeEmptyContent       = 44004
	CodeContentTooLong     = 45002
	CodeDailyLimit         = 45009
	CodeMinuteLimit        = 45011
	CodeOutsideWindow      = 45015
	CodeQuotaUsedUp        = 45047
	CodeDataFormat         = 47001
	CodeUnauthorized       = 48001
)

// code is what is known of an errcode: WeChat's errmsg and what a
// developer whose bot caused it should do.
type code struct {
	errmsg string
	hint   string
	// final: sending the same request again cannot succeed (the user must
	// act, or the request must change), so a queue should not retry it.
	final bool
}

// codes describes the errcodes: every one kftest answers, and those a bot
// meets at WeChat.
var codes = map[int]code{
	CodeSystemBusy:         {"system error", "WeChat is busy: a send may or may not have reached the user", false},
	CodeInvalidCredential:  {"invalid credential, access_token is invalid or not latest", "access token invalid or revoked: fetch a valid token and retry once", false},
	CodeInvalidGrantType:   {"invalid grant_type", "", false},
	CodeInvalidOpenID:      {"invalid openid", "unknown openid: the user of this emulator is the one in the pushes", true},
	CodeInvalidMediaType:   {"invalid media type", "", true},
	CodeInvalidFileType:    {"invalid file type", "", true},
	CodeInvalidFileSize:    {"invalid file size", "", true},
	CodeInvalidMediaID:     {"invalid media_id", "unknown media_id: upload the image first (uploadTempMedia)", true},
	CodeInvalidMsgType:     {"invalid message type", "", true},
	CodeInvalidAppID:       {"invalid appid", "wrong appid: use the AppID csmsg emulate printed", false},
	CodeInvalidAccessToken: {"invalid access_token", "", false},
	CodeInvalidAppSecret:   {"invalid appsecret", "wrong AppSecret: use the one csmsg emulate printed", false},
	CodeNoAccessToken:      {"access_token missing", "no access_token in the query", false},
	CodeNoAppID:            {"appid missing", "", false},
	CodeNoAppSecret:        {"appsecret missing", "", false},
	CodeNoMediaData:        {"media data missing", "", false},
	CodeAccessTokenExpired: {"access_token expired", "access token expired: fetch a new one and retry once", false},
	CodeRequireGET:         {"require GET method", "", false},
	CodeRequirePOST:        {"require POST method", "", false},
	CodeEmptyContent:       {"empty content", "empty content", true},
	CodeContentTooLong:     {"content size out of limit", "content too long", true},
	CodeDailyLimit:         {"reach max api daily quota limit", "", false},
	CodeMinuteLimit:        {"api minute-quota reach limit", "", false},
	CodeOutsideWindow:      {"response out of time limit or subscription is canceled", "outside the reply window: the user must write again", true},
	CodeQuotaUsedUp:        {"out of response count limit", "the replies the user's last action allows are used up", true},
	CodeDataFormat:         {"data format error", "the request body is not what the API documents", true},
	CodeUnauthorized:       {"api unauthorized: kftest serves /cgi-bin/stable_token, not /cgi-bin/token", "use /cgi-bin/stable_token: /cgi-bin/token's tokens replace each other", false},
}

// ErrMsg returns WeChat's errmsg for errcode: "ok" for 0, "" for a code
// not described here.
func ErrMsg(errcode int) string {
	if errcode == CodeOK {
		return "ok"
	}
	return codes[errcode].errmsg
}

// Hint returns what a developer whose bot was answered errcode should do,
// or "".
func Hint(errcode int) string {
	return codes[errcode].hint
}

// Final reports whether errcode means that sending the same request again
// cannot succeed: an openid, media or content WeChat refuses, or a reply
// window that is closed or used up until the user acts.
func Final(errcode int) bool {
	return codes[errcode].final
}

// Answer returns the Status of errcode with WeChat's errmsg.
func Answer(errcode int) Status {
	return Status{ErrCode: errcode, ErrMsg: ErrMsg(errcode)}
}
