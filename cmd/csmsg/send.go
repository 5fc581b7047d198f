package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
)

// What WeChat does with a push, which send and emulate copy.
const (
	// wechatTimeout is how long WeChat waits for the answer to a push.
	wechatTimeout = 5 * time.Second
	// wechatAttempts is how many times WeChat tries a push in all.
	wechatAttempts = 3
	// defaultRetryPause is the pause between attempts: WeChat documents
	// none, and retries promptly.
	defaultRetryPause = time.Second
	// maxAnswer bounds how much of an answer is read.
	maxAnswer = 1 << 20
)

// Defaults of a push's fields.
const (
	defaultBotID    = "gh_c5m5gdem0000" // ToUserName: the mini program's original id
	defaultUser     = "oCSMSG-demo-user-0000000001"
	defaultAppID    = "wx0123456789abcdef"
	defaultContent  = "hello from csmsg"
	defaultPicURL   = "http://mmbiz.qpic.cn/mmbiz_jpg/csmsg-demo/0"
	defaultMediaID  = "MEDIA_ID_csmsg_demo"
	defaultTitle    = "csmsg demo card"
	defaultPagePath = "pages/index/index?from=csmsg"
	defaultThumbURL = "http://mmbiz.qpic.cn/mmbiz_jpg/csmsg-demo-thumb/0"
	defaultThumbID  = "THUMB_MEDIA_ID_csmsg_demo"
	defaultSession  = "csmsg"
)

// kinds are the KIND arguments of send.
var kinds = []string{csmsg.MsgTypeText, csmsg.MsgTypeImage, csmsg.MsgTypeMiniProgramPage, csmsg.EventUserEnterTempSession, "raw"}

const sendExample = `  # in one terminal
  csmsg serve
  # in another, with the flags serve printed
  csmsg send text --url http://127.0.0.1:8080/ --token csmsg-demo-token \
    --aes-key Y3Ntc2cgZGVtbyBrZXkgLSBub3QgYSBzZWNyZXQwMDA --appid wx0123456789abcdef \
    --format json --mode safe --content 'hi there' --repeat 2`

// pushFields are the field flags of send.
type pushFields struct {
	content, from, to, msgID, picURL, mediaID, title, appID, pagePath, thumbURL, thumbMediaID, sessionFrom string
	createTime                                                                                             int64
}

func (p *pushFields) register(fs *flagSet) {
	fs.StringVar(&p.from, "from", defaultUser, "FromUserName: the user's `openid`")
	fs.StringVar(&p.to, "to", defaultBotID, "ToUserName: the mini program's original `id`")
	fs.StringVar(&p.msgID, "msgid", "", "MsgId: the message `id` (default a random 64-bit id above 2^53, the same for every --repeat)")
	fs.StringVar(&p.content, "content", defaultContent, "text: Content")
	fs.StringVar(&p.picURL, "pic-url", defaultPicURL, "image: PicUrl")
	fs.StringVar(&p.mediaID, "media-id", defaultMediaID, "image: MediaId")
	fs.StringVar(&p.title, "title", defaultTitle, "miniprogrampage: Title")
	fs.StringVar(&p.appID, "app-id", "", "miniprogrampage: AppId, the appid of the mini program the card opens (default --appid, or "+defaultAppID+")")
	fs.StringVar(&p.pagePath, "page-path", defaultPagePath, "miniprogrampage: PagePath")
	fs.StringVar(&p.thumbURL, "thumb-url", defaultThumbURL, "miniprogrampage: ThumbUrl")
	fs.StringVar(&p.thumbMediaID, "thumb-media-id", defaultThumbID, "miniprogrampage: ThumbMediaId")
	fs.StringVar(&p.sessionFrom, "session-from", defaultSession, "user_enter_tempsession: SessionFrom")
	fs.Int64Var(&p.createTime, "create-time", 0, "CreateTime in Unix `seconds` (default now)")
}

// message builds the push of kind from the fields.
func (p *pushFields) message(kind string) (csmsg.Message, error) {
	h := csmsg.Header{ToUserName: p.to, FromUserName: p.from, CreateTime: p.createTime}
	if h.CreateTime == 0 {
		h.CreateTime = time.Now().Unix()
	}
	msgID := p.msgID
	if msgID == "" {
		msgID = randomMsgID()
	}
	switch kind {
	case csmsg.MsgTypeText:
		h.MsgType = kind
		return &csmsg.Text{Header: h, MsgID: msgID, Content: p.content}, nil
	case csmsg.MsgTypeImage:
		h.MsgType = kind
		return &csmsg.Image{Header: h, MsgID: msgID, PicURL: p.picURL, MediaID: p.mediaID}, nil
	case csmsg.MsgTypeMiniProgramPage:
		h.MsgType = kind
		return &csmsg.MiniProgramPage{Header: h, MsgID: msgID, Title: p.title, AppID: p.appID,
			PagePath: p.pagePath, ThumbURL: p.thumbURL, ThumbMediaID: p.thumbMediaID}, nil
	case csmsg.EventUserEnterTempSession:
		h.MsgType = csmsg.MsgTypeEvent
		return &csmsg.UserEnterTempSession{Header: h, Event: kind, SessionFrom: p.sessionFrom}, nil
	}
	return nil, usageError(fmt.Sprintf("send: unknown KIND %q: want one of %s", kind, strings.Join(kinds, ", ")))
}

// randomMsgID returns a MsgId in [2^60, 2^63): above 2^53, as real ones
// are, so that a backend decoding it through a float64 is caught.
func randomMsgID() string {
	var b [8]byte
	rand.Read(b[:])
	return strconv.FormatUint(binary.BigEndian.Uint64(b[:])>>3|1<<60, 10)
}

// sendCmd implements "csmsg send".
func sendCmd(e *env, args []string) error {
	fs := newFlagSet(e, "send", "send KIND --url URL --token T [--aes-key K --appid A] [--format xml|json] [--mode plain|compatible|safe] [field flags] [--repeat N]\n\nKIND is text, image, miniprogrampage, user_enter_tempsession, or raw with --body FILE.\nThe push is signed (and encrypted) as WeChat does and POSTed with WeChat's query;\nthe answer must come within --timeout with status 200 and a body of \"success\",\nnothing, or a passive reply (transfer_customer_service, encrypted and signed in\ncompatible and safe mode). Otherwise the push is retried, 3 attempts in all.", sendExample)
	var cf configFlags
	cf.register(fs)
	var pf pushFields
	pf.register(fs)
	target := fs.String("url", "", "the push `URL` of the backend (required)")
	format := fs.String("format", "xml", "the data format: xml or json")
	mode := fs.String("mode", "", "the encryption mode: plain, compatible or safe (default safe with --aes-key, plain without)")
	bodyFile := fs.String("body", "", "raw: the plaintext push body to send, from `FILE` (- for standard input), in its own format")
	repeat := fs.Int("repeat", 1, "send the same push (same MsgId and CreateTime) `N` times, to exercise deduplication")
	timeout := fs.Duration("timeout", wechatTimeout, "how long to wait for each answer, as WeChat waits 5 s")
	pause := fs.Duration("retry-pause", defaultRetryPause, "the pause between attempts")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("send takes one KIND (" + strings.Join(kinds, ", ") + "); run 'csmsg send --help'")
	}
	kind := pos[0]
	switch {
	case *target == "":
		return usageError("send: --url is required")
	case cf.token == "":
		return usageError("send: --token is required")
	case *repeat < 1:
		return usageError("send: --repeat must be at least 1")
	case *timeout <= 0:
		return usageError("send: --timeout must be positive")
	case kind == "raw" && *bodyFile == "":
		return usageError("send raw needs --body FILE")
	case kind != "raw" && *bodyFile != "":
		return usageError("send: --body is for KIND raw")
	}
	f, err := parseFormat(*format)
	if err != nil {
		return err
	}
	d, err := newDeliverer(*target, cf, *mode)
	if err != nil {
		return err
	}
	d.timeout, d.pause = *timeout, *pause

	var body []byte
	if kind == "raw" {
		if body, err = readInput(*bodyFile, e.stdin); err != nil {
			return err
		}
	} else {
		if pf.appID == "" {
			pf.appID = cf.appID
			if pf.appID == "" {
				pf.appID = defaultAppID
			}
		}
		if pf.msgID == "" {
			pf.msgID = randomMsgID()
		}
		if pf.createTime == 0 {
			pf.createTime = time.Now().Unix()
		}
		msg, err := pf.message(kind)
		if err != nil {
			return err
		}
		if body, err = csmsg.Marshal(msg, f); err != nil {
			return err
		}
	}
	summary := kind
	if msg, err := csmsg.Parse(body); err == nil {
		summary = pushSummary(msg)
	}
	failed := 0
	for i := 1; i <= *repeat; i++ {
		fmt.Fprintf(e.stdout, "push %d/%d: %s, %s, mode %s, to %s\n", i, *repeat, summary, formatOf(body), modeName(d.mode), *target)
		res := d.deliver(e.ctx, body, func(a attemptResult) {
			fmt.Fprintf(e.stdout, "  attempt %d/%d: %s\n", a.Attempt, wechatAttempts, a.line())
		})
		if !res.OK {
			failed++
		}
		if e.ctx.Err() != nil {
			return e.ctx.Err()
		}
	}
	if failed > 0 {
		return fmt.Errorf("the endpoint failed %d of %d pushes (%d attempts each): WeChat would show the user that the service is unavailable", failed, *repeat, wechatAttempts)
	}
	return nil
}

// pushSummary describes a push in a few words.
func pushSummary(msg csmsg.Message) string {
	h := msg.MsgHeader()
	switch m := msg.(type) {
	case *csmsg.Text:
		return fmt.Sprintf("text MsgId %s from %s", m.MsgID, h.FromUserName)
	case *csmsg.Image:
		return fmt.Sprintf("image MsgId %s from %s", m.MsgID, h.FromUserName)
	case *csmsg.MiniProgramPage:
		return fmt.Sprintf("miniprogrampage MsgId %s from %s", m.MsgID, h.FromUserName)
	case *csmsg.UserEnterTempSession:
		return fmt.Sprintf("event %s from %s", m.Event, h.FromUserName)
	case *csmsg.Unknown:
		if m.Event != "" {
			return fmt.Sprintf("%s %s from %s", h.MsgType, m.Event, h.FromUserName)
		}
	}
	return fmt.Sprintf("%s from %s", h.MsgType, h.FromUserName)
}

// formatOf names the format of a body.
func formatOf(body []byte) string {
	if b := bytes.TrimLeft(body, " \t\r\n\ufeff"); len(b) > 0 && b[0] == '{' {
		return "json"
	}
	return "xml"
}

// deliverer sends pushes to a backend as WeChat does, and checks the answers.
type deliverer struct {
	target  string
	sign    csmsg.Config   // signs the pushes and opens the replies: without a key in plaintext mode
	mode    csmsgtest.Mode // how pushes are protected
	client  *http.Client
	timeout time.Duration
	pause   time.Duration
}

// newDeliverer checks the flags of a sender of pushes to target.
func newDeliverer(target string, cf configFlags, mode string) (*deliverer, error) {
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		return nil, usageError(fmt.Sprintf("URL %q: want an http:// or https:// URL", target))
	}
	cfg, _, err := cf.config()
	if err != nil {
		return nil, err
	}
	m, err := parseMode(mode, cfg.EncodingAESKey != "")
	if err != nil {
		return nil, err
	}
	sign := cfg
	if m == csmsgtest.ModePlaintext {
		sign.EncodingAESKey, sign.AppID = "", "" // a plaintext push, maybe to test that a backend with a key refuses it
	}
	return &deliverer{
		target: target, sign: sign, mode: m,
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // WeChat does not follow redirects
		}},
		timeout: wechatTimeout, pause: defaultRetryPause,
	}, nil
}

// attemptResult is the outcome of one attempt at a push.
type attemptResult struct {
	Attempt int    `json:"attempt"`
	OK      bool   `json:"ok"`
	Status  int    `json:"status,omitempty"`
	Millis  int64  `json:"ms"`
	Answer  string `json:"answer,omitempty"` // "success", "empty" or "transfer_customer_service"
	Error   string `json:"error,omitempty"`  // why the answer is not one WeChat accepts
	// Reply is the passive reply, checked; ReplyTo is the user it is to.
	Reply   *csmsg.Reply `json:"-"`
	ReplyTo string       `json:"reply_to,omitempty"`
}

func (a attemptResult) line() string {
	took := fmt.Sprintf("%dms", a.Millis)
	switch {
	case a.Status == 0:
		return fmt.Sprintf("failed after %s: %s", took, a.Error)
	case !a.OK:
		return fmt.Sprintf("status %d in %s: %s", a.Status, took, a.Error)
	case a.Reply != nil:
		return fmt.Sprintf("status %d in %s: passive reply %s to %s, well-formed", a.Status, took, a.Answer, a.ReplyTo)
	}
	return fmt.Sprintf("status %d in %s: %s", a.Status, took, a.Answer)
}

// deliveryResult is the outcome of a push, all attempts.
type deliveryResult struct {
	OK       bool            `json:"ok"`
	Attempts []attemptResult `json:"attempts"`
}

// deliver signs body, a plaintext push, and sends it as WeChat does: up to
// three attempts, each given d.timeout, until one is answered well. report,
// if not nil, is called after each attempt.
func (d *deliverer) deliver(ctx context.Context, body []byte, report func(attemptResult)) deliveryResult {
	var res deliveryResult
	var pushed *csmsg.Header
	if msg, err := csmsg.Parse(body); err == nil {
		pushed = msg.MsgHeader()
	}
	p, err := csmsgtest.Sign(d.sign, d.mode, body)
	for i := 1; i <= wechatAttempts && ctx.Err() == nil; i++ {
		if i > 1 && d.pause > 0 {
			select {
			case <-time.After(d.pause):
			case <-ctx.Done():
			}
		}
		var a attemptResult
		if err != nil {
			a = attemptResult{Error: "cannot sign the push: " + err.Error()}
		} else {
			a = d.attempt(ctx, p, pushed)
		}
		a.Attempt = i
		res.Attempts = append(res.Attempts, a)
		if report != nil {
			report(a)
		}
		if a.OK || err != nil {
			res.OK = a.OK
			break
		}
	}
	return res
}

// attempt makes one attempt at push p and checks the answer.
func (d *deliverer) attempt(ctx context.Context, p *csmsgtest.Push, pushed *csmsg.Header) attemptResult {
	req, err := p.Request(d.target)
	if err != nil {
		return attemptResult{Error: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	start := time.Now()
	resp, err := d.client.Do(req.WithContext(ctx))
	var answer []byte
	if err == nil {
		answer, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
		resp.Body.Close()
	}
	a := attemptResult{Millis: time.Since(start).Milliseconds()}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			a.Error = fmt.Sprintf("no answer within %v: WeChat drops the connection and retries", d.timeout)
		} else {
			a.Error = "request failed: " + oneLine(err.Error())
		}
		if resp != nil {
			a.Status = resp.StatusCode
		}
		return a
	}
	a.Status = resp.StatusCode
	if resp.StatusCode == http.StatusOK && len(answer) > maxAnswer {
		a.Error = fmt.Sprintf("answer longer than %d bytes", maxAnswer)
		return a
	}
	a.Reply, err = csmsgtest.OpenAnswer(d.sign, p, resp.StatusCode, answer)
	switch {
	case errors.Is(err, csmsgtest.ErrAnswerStatus):
		a.Error = err.Error() + ": WeChat retries"
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			a.Error += " (WeChat does not follow redirects)"
		}
		return a
	case err != nil:
		a.Error = err.Error()
		return a
	case a.Reply != nil:
		a.Answer = "transfer_customer_service"
		if pushed != nil { // it is: OpenAnswer read the same message
			a.ReplyTo = pushed.FromUserName
		}
	case len(bytes.TrimSpace(answer)) == 0:
		a.Answer = "empty"
	default:
		a.Answer = "success"
	}
	a.OK = true
	return a
}

// firstRunes returns at most n runes of b, for an error message.
func firstRunes(b []byte, n int) string {
	s := []rune(string(b))
	if len(s) > n {
		return string(s[:n]) + "..."
	}
	return string(s)
}
