package kf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/csmsg/csmsg/internal/kfwire"
)

// Defaults of a Config's zero fields.
const (
	DefaultBaseURL       = "https://api.weixin.qq.com"
	DefaultTimeout       = 10 * time.Second
	DefaultMaxMediaBytes = 10 << 20
)

// maxJSONAnswer bounds a JSON answer of the API.
const maxJSONAnswer = 1 << 20

// Config configures a [Client]. AppID is required, and AppSecret
// unless Tokens is set; the zero value of every other field is a safe
// default.
type Config struct {
	// AppID is the mini program's appid.
	AppID string

	// AppSecret is the mini program's AppSecret, for the default token
	// source. Required unless Tokens is set.
	AppSecret string

	// Tokens gives the access tokens: nil means a [StableTokenSource] with
	// AppID, AppSecret, BaseURL and HTTPClient, which fetches stable access
	// tokens and caches them in memory. Several instances of a backend need
	// not share anything; see StableTokenSource.
	Tokens TokenSource

	// BaseURL is the API's scheme and host: "" means DefaultBaseURL. Tests
	// point it at a kftest.Server.
	BaseURL string

	// HTTPClient makes the requests: nil means a client with a
	// DefaultTimeout (10 s) timeout that does not follow redirects (a
	// redirect would carry the access token elsewhere, and WeChat does not
	// redirect). A client you supply is used as it is: give it a
	// CheckRedirect that refuses redirects too (returning
	// http.ErrUseLastResponse). A client without a timeout relies on each
	// call's ctx.
	HTTPClient *http.Client

	// MaxMediaBytes bounds a file uploaded or downloaded: 0 means
	// DefaultMaxMediaBytes (10 MiB).
	MaxMediaBytes int64
}

// Client answers the users of one mini program through WeChat's
// customer-service API (客服消息): it sends messages and the typing status,
// and uploads and downloads temporary media. It is safe for concurrent use.
//
// Every call honours its ctx and reads at most 1 MiB of a JSON answer. It
// returns an *[Error] for any errcode other than 0, [ErrBadResponse] for
// an answer that is not what the API documents, and otherwise the
// transport's error: a *url.Error for a request that failed, wrapping its
// cause (errors.Is(err, context.DeadlineExceeded) holds after a timeout). No
// error holds the access token or the AppSecret: the URL in a *url.Error has
// access_token=REDACTED.
//
// # Answering a push
//
// WeChat waits 5 seconds for the answer to a push, then retries it. A
// [github.com/csmsg/csmsg.HandlerFunc] should therefore hand the message off (to a queue, a
// goroutine with its own context) and return; the answer goes out through
// the Client, within the user's reply window: 5 messages within 48 hours of
// the user's last message, 2 within a minute of entering the chat. Outside
// it WeChat answers errcode 45015 ([CodeOutsideWindow]), past the count
// 45047 ([CodeQuotaUsedUp]).
//
// # Retries
//
// A call WeChat rejects for its token (errcode 40001, 40014, 42001) did
// nothing: the Client asks the TokenSource for another token and retries
// it once. Nothing else is retried. A send is not idempotent: after a
// timeout, a dropped connection or errcode -1 (system busy) the message may
// or may not have reached the user, and sending it again may show it twice.
// A caller that retries should wait a little (a second or more) and accept
// a possible duplicate; for a message that must not be doubled (a payment
// confirmation, say), do not retry. Errcodes 40003, 45015 and 45047 are
// final: retrying cannot help.
type Client struct {
	tokens   TokenSource
	base     string
	http     *http.Client
	maxMedia int64
}

// NewClient returns a Client for cfg. It returns an error matching
// [ErrInvalidConfig] if cfg has no AppID, has neither AppSecret nor Tokens,
// has a BaseURL that is not an absolute http or https URL, or a negative
// MaxMediaBytes. It makes no request: the first token is fetched by the
// first call.
func NewClient(cfg Config) (*Client, error) {
	switch {
	case cfg.AppID == "":
		return nil, fmt.Errorf("%w: no AppID", ErrInvalidConfig)
	case cfg.AppSecret == "" && cfg.Tokens == nil:
		return nil, fmt.Errorf("%w: neither AppSecret nor Tokens", ErrInvalidConfig)
	case cfg.MaxMediaBytes < 0:
		return nil, fmt.Errorf("%w: negative MaxMediaBytes", ErrInvalidConfig)
	}
	base := baseURL(cfg.BaseURL)
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: BaseURL is not an absolute http or https URL", ErrInvalidConfig)
	}
	c := &Client{
		tokens:   cfg.Tokens,
		base:     base,
		http:     httpClient(cfg.HTTPClient),
		maxMedia: cfg.MaxMediaBytes,
	}
	if c.tokens == nil {
		c.tokens = &StableTokenSource{
			AppID:      cfg.AppID,
			AppSecret:  cfg.AppSecret,
			BaseURL:    cfg.BaseURL,
			HTTPClient: cfg.HTTPClient,
		}
	}
	if c.maxMedia == 0 {
		c.maxMedia = DefaultMaxMediaBytes
	}
	return c, nil
}

// AccessToken returns a valid access token from the Client's TokenSource,
// for an API call this package does not make.
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	return c.token(ctx, "")
}

func (c *Client) token(ctx context.Context, rejected string) (string, error) {
	token, err := c.tokens.Token(ctx, rejected)
	if err == nil && token == "" {
		err = errNoToken
	}
	return token, err
}

// Link is a link card: msgtype "link" in a send.
type Link struct {
	Title       string // link.title
	Description string // link.description
	URL         string // link.url: the page the card opens
	ThumbURL    string // link.thumb_url: the picture on the card
}

// MiniProgramCard is a mini program page card: msgtype "miniprogrampage" in
// a send.
type MiniProgramCard struct {
	Title        string // miniprogrampage.title
	PagePath     string // miniprogrampage.pagepath, e.g. "pages/index/index?foo=bar"
	ThumbMediaID string // miniprogrampage.thumb_media_id, from UploadTempMedia
}

// SendText sends a text message (msgtype "text") to the user with openid
// toUser. content may hold <a href="..." data-miniprogram-appid="..."
// data-miniprogram-path="..."> links; it is sent as is, not HTML-escaped.
func (c *Client) SendText(ctx context.Context, toUser, content string) error {
	return c.send(ctx, kfwire.Send{ToUser: toUser, MsgType: kfwire.MsgTypeText, Text: &kfwire.Text{Content: content}})
}

// SendImage sends an image (msgtype "image") to the user with openid
// toUser. mediaID comes from UploadTempMedia.
func (c *Client) SendImage(ctx context.Context, toUser, mediaID string) error {
	return c.send(ctx, kfwire.Send{ToUser: toUser, MsgType: kfwire.MsgTypeImage, Image: &kfwire.Image{MediaID: mediaID}})
}

// SendLink sends a link card (msgtype "link") to the user with openid
// toUser.
func (c *Client) SendLink(ctx context.Context, toUser string, link Link) error {
	l := kfwire.Link(link)
	return c.send(ctx, kfwire.Send{ToUser: toUser, MsgType: kfwire.MsgTypeLink, Link: &l})
}

// SendMiniProgramPage sends a mini program page card (msgtype
// "miniprogrampage") to the user with openid toUser.
func (c *Client) SendMiniProgramPage(ctx context.Context, toUser string, card MiniProgramCard) error {
	p := kfwire.MiniProgramPage(card)
	return c.send(ctx, kfwire.Send{ToUser: toUser, MsgType: kfwire.MsgTypeMiniProgramPage, MiniProgramPage: &p})
}

// SetTyping shows (typing true, command "Typing") or hides (command
// "CancelTyping") "typing..." to the user with openid toUser. WeChat allows
// it only within 30 seconds of a message between the user and the mini
// program; the status lasts 15 seconds, and sending a message cancels it.
func (c *Client) SetTyping(ctx context.Context, toUser string, typing bool) error {
	command := kfwire.CommandCancelTyping
	if typing {
		command = kfwire.CommandTyping
	}
	return c.postJSON(ctx, kfwire.PathTyping, kfwire.Typing{ToUser: toUser, Command: command})
}

func (c *Client) send(ctx context.Context, msg kfwire.Send) error {
	return c.postJSON(ctx, kfwire.PathSend, msg)
}

// postJSON posts body as JSON to path and reads a status answer.
func (c *Client) postJSON(ctx context.Context, path string, body any) error {
	buf := kfwire.Marshal(body)
	return c.call(ctx, path, func(ctx context.Context, token string) error {
		req, err := c.request(ctx, http.MethodPost, path, token, nil, bytes.NewReader(buf))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		return roundTrip(c.http, req, path, nil, token)
	})
}

// call runs attempt with a token and, if WeChat rejects that token, once
// more with another.
func (c *Client) call(ctx context.Context, path string, attempt func(ctx context.Context, token string) error) error {
	token, err := c.token(ctx, "")
	if err != nil {
		return err
	}
	err = attempt(ctx, token)
	var apiErr *Error
	if !errors.As(err, &apiErr) || !tokenRejected(apiErr.Code) {
		return err
	}
	next, tokenErr := c.token(ctx, token)
	if tokenErr != nil {
		return tokenErr
	}
	if next == token {
		return err // a TokenSource that breaks its contract: do not loop
	}
	return attempt(ctx, next)
}

// request builds a request to path with the access token and query in its
// URL.
func (c *Client) request(ctx context.Context, method, path, token string, query url.Values, body io.Reader) (*http.Request, error) {
	q := url.Values{"access_token": {token}}
	for k, v := range query {
		q[k] = v
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path+"?"+q.Encode(), body)
	if err != nil {
		return nil, redact(err, token) // cannot happen: the base URL was checked
	}
	return req, nil
}

// roundTrip sends req and decodes its JSON answer into answer (if not nil).
// secret (the access token or the AppSecret) is kept out of any error.
func roundTrip(hc *http.Client, req *http.Request, path string, answer any, secret string) error {
	resp, err := hc.Do(req)
	if err != nil {
		return redact(err, secret)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return badResponse(path, "status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONAnswer+1))
	if err != nil {
		return redact(fmt.Errorf("kf: %s: reading the answer: %w", path, err), secret)
	}
	return decodeAnswer(path, body, answer, secret)
}

// decodeAnswer decodes the JSON answer body of the call at path: an
// *Error if its errcode is not 0, else into answer (if not nil).
func decodeAnswer(path string, body []byte, answer any, secret string) error {
	if len(body) > maxJSONAnswer {
		return badResponse(path, "answer longer than %d bytes", maxJSONAnswer)
	}
	if !looksLikeJSONObject(body) {
		return badResponse(path, "answer is not a JSON object")
	}
	var status kfwire.Status
	if err := json.Unmarshal(body, &status); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadResponse, path, err)
	}
	if status.ErrCode != 0 {
		return &Error{Code: status.ErrCode, Msg: redactString(status.ErrMsg, secret)}
	}
	if answer != nil {
		if err := json.Unmarshal(body, answer); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrBadResponse, path, err)
		}
	}
	return nil
}

// looksLikeJSONObject reports whether b starts with '{' after JSON
// whitespace.
func looksLikeJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

func baseURL(s string) string {
	if s == "" {
		return DefaultBaseURL
	}
	return strings.TrimRight(s, "/")
}

// defaultHTTPClient is the HTTPClient of a zero Config.
var defaultHTTPClient = &http.Client{
	Timeout: DefaultTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a 3xx answer is then ErrBadResponse
	},
}

func httpClient(hc *http.Client) *http.Client {
	if hc == nil {
		return defaultHTTPClient
	}
	return hc
}
