package deliver

import (
	"fmt"
	"net/http"
	"strings"
)

// Wording names, in the cause of a refused push, the settings to check,
// for the tool in use. Its zero value words them for "csmsg send" and
// "csmsg verify-url": "check that --token matches the bot's Token".
type Wording struct {
	// Tool, if set, is the tool whose flags the bot must match: "check
	// that the bot's Token matches csmsg emulate's --token".
	Tool string
	// URLFlag is the flag of the bot's push URL; "" means --url.
	URLFlag string
}

// matches words one setting to check: the bot's setting and the tool's
// flag for it.
func (w Wording) matches(flag, setting string) string {
	if w.Tool != "" {
		return fmt.Sprintf("the bot's %s matches %s's %s", setting, w.Tool, flag)
	}
	return fmt.Sprintf("%s matches the bot's %s", flag, setting)
}

// checkThat words the settings to check, two at a time (flag, setting).
func (w Wording) checkThat(pairs ...string) string {
	var clauses []string
	for i := 0; i+1 < len(pairs); i += 2 {
		clauses = append(clauses, w.matches(pairs[i], pairs[i+1]))
	}
	return "check that " + strings.Join(clauses, " and ")
}

// The causes a csmsg Handler names in the body of a refusal, after the
// status text (the root package's cause.go): Refusal reads them.
const (
	answerNotEncrypted = "the receiver accepts only encrypted pushes"
	answerExpired      = "timestamp outside the allowed window"
	answerNoKey        = "the receiver has no EncodingAESKey"
	answerDecrypt      = "cannot decrypt"
	answerMalformed    = "malformed body"
)

// Refusal says why the bot refused a push or a URL verification with
// status (not 200) and body, and what to check: "the endpoint refused the
// signature: check that --token matches the bot's Token". It reads the
// causes a csmsg Handler answers, and words a bare status as its most
// likely cause.
func (w Wording) Refusal(status int, body []byte) string {
	text := strings.TrimSpace(string(body))
	urlFlag := w.URLFlag
	if urlFlag == "" {
		urlFlag = "--url"
	}
	switch {
	case status == http.StatusUnauthorized && strings.Contains(text, answerNotEncrypted):
		return "the endpoint accepts only encrypted pushes: " + w.checkThat("--aes-key", "EncodingAESKey", "--appid", "AppID")
	case status == http.StatusUnauthorized && strings.Contains(text, answerExpired):
		return "the endpoint refused the timestamp as too old or too new: check that this machine's clock and the bot's agree"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "the endpoint refused the signature: " + w.checkThat("--token", "Token")
	case status == http.StatusBadRequest && strings.Contains(text, answerNoKey):
		return "the endpoint has no EncodingAESKey and refused the encrypted push: " + w.checkThat("--mode", "mode (plain without a key)")
	case status == http.StatusBadRequest && strings.Contains(text, answerDecrypt):
		return "the endpoint could not decrypt the push: " + w.checkThat("--aes-key", "EncodingAESKey", "--appid", "AppID")
	case status == http.StatusBadRequest && strings.Contains(text, answerMalformed):
		return "the endpoint could not read the push"
	case status == http.StatusRequestEntityTooLarge:
		return "the endpoint refused the push as too large"
	case status >= 300 && status < 400:
		return fmt.Sprintf("the endpoint redirects, and WeChat does not follow redirects: check %s", urlFlag)
	case status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
		return fmt.Sprintf("no push URL there: check %s", urlFlag)
	case status >= 500:
		return "the bot failed: see its log" + says(text)
	}
	return "the endpoint refused it" + says(text)
}

// says quotes the start of a refusal's body, if any.
func says(text string) string {
	if text == "" || text == http.StatusText(http.StatusInternalServerError) {
		return ""
	}
	return fmt.Sprintf(" (it says %q)", FirstRunes([]byte(text), 60))
}
