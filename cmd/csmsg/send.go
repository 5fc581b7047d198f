package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/cmd/csmsg/internal/deliver"
)

// Defaults of a push's fields. Those of send's field flags are the
// samples' of csmsg.Kinds; serve and emulate use the rest.
const (
	defaultBotID    = "gh_c5m5gdem0000" // ToUserName: the mini program's original id
	defaultUser     = "oCSMSG-demo-user-0000000001"
	defaultAppID    = "wx0123456789abcdef"
	defaultTitle    = "csmsg demo card"
	defaultPagePath = "pages/index/index?from=csmsg"
	defaultSession  = "csmsg"
)

// The wire names send treats apart from the other fields of a kind: MsgId
// has a flag of its own for every kind (--msgid), Event is the kind's, and
// AppId defaults to --appid.
const (
	wireMsgID = "MsgId"
	wireEvent = "Event"
	wireAppID = "AppId"
)

// cardAppIDFlag is the flag of a card's AppId, named apart from --appid
// (the mini program's, for encryption); it was --app-id before.
const cardAppIDFlag = "card-appid"

// sendKinds returns the KIND arguments of send: the name of each kind in
// csmsg.Kinds, and raw.
func sendKinds() []string {
	var names []string
	for _, k := range csmsg.Kinds() {
		names = append(names, k.Name)
	}
	return append(names, "raw")
}

const sendExample = `  # in one terminal
  csmsg serve
  # in another, with the flags serve printed
  csmsg send text --url http://127.0.0.1:8080/ --token csmsg-demo-token \
    --aes-key Y3Ntc2cgZGVtbyBrZXkgLSBub3QgYSBzZWNyZXQwMDA --appid wx0123456789abcdef \
    --format json --mode safe --content 'hi there' --repeat 2`

// pushFields are the field flags of send: the header's, and one for each
// wire name of the kinds' fields (MsgId and Event aside), named after it
// (PicUrl: --pic-url), whose default is the value of the first kind's
// sample that has the field.
type pushFields struct {
	from, to, msgID string
	createTime      int64
	values          map[string]*string // by wire name
}

func (p *pushFields) register(fs *flagSet) {
	fs.StringVar(&p.from, "from", defaultUser, "FromUserName: the user's `openid`")
	fs.StringVar(&p.to, "to", defaultBotID, "ToUserName: the mini program's original `id`")
	fs.StringVar(&p.msgID, "msgid", "", "MsgId: the message `id` (default a random 64-bit id above 2^53, the same for every --repeat)")
	fs.Int64Var(&p.createTime, "create-time", 0, "CreateTime in Unix `seconds` (default now)")
	p.values = map[string]*string{}
	var names []string              // the wire names, in the order of the kinds and their fields
	usedBy := map[string][]string{} // the kinds of each wire name
	defaults := map[string]string{}
	for _, k := range csmsg.Kinds() {
		for i, v := range k.Values(k.Sample) {
			name := k.Fields[i]
			if name == wireMsgID || name == wireEvent {
				continue
			}
			if usedBy[name] == nil {
				names = append(names, name)
				defaults[name] = v
			}
			usedBy[name] = append(usedBy[name], k.Name)
		}
	}
	for _, name := range names {
		flagName := fieldFlag(name)
		if fs.Lookup(flagName) != nil { // a field named as another flag
			flagName = "field-" + flagName
		}
		help := strings.Join(usedBy[name], ", ") + ": " + name
		def := defaults[name]
		if name == wireAppID {
			help += ", the appid of the mini program the card opens (default --appid, or " + def + ")"
			def = ""
		}
		p.values[name] = fs.String(flagName, def, help)
	}
}

// fieldFlag returns the flag of a field: that of its wire name, but
// --card-appid for AppId.
func fieldFlag(name string) string {
	if name == wireAppID {
		return cardAppIDFlag
	}
	return flagNameOf(name)
}

// flagNameOf returns the flag of a wire name: its words in lower case
// joined by hyphens (ThumbMediaId: thumb-media-id).
func flagNameOf(name string) string {
	var b strings.Builder
	for i, r := range name {
		if 'A' <= r && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// message builds the push of kind, a kind's name in csmsg.Kinds, from the
// fields; AppId, when --card-appid is not given, is appID or the sample's.
func (p *pushFields) message(kind, appID string) (csmsg.Message, error) {
	h := csmsg.Header{ToUserName: p.to, FromUserName: p.from, CreateTime: p.createTime}
	if h.CreateTime == 0 {
		h.CreateTime = time.Now().Unix()
	}
	msgID := p.msgID
	if msgID == "" {
		msgID = randomMsgID()
	}
	for _, k := range csmsg.Kinds() {
		if k.Name != kind {
			continue
		}
		sample := k.Values(k.Sample)
		values := make([]string, len(k.Fields))
		for i, name := range k.Fields {
			switch v := p.values[name]; {
			case name == wireMsgID:
				values[i] = msgID
			case v == nil: // Event: the kind's
			case *v == "" && name == wireAppID && appID != "":
				values[i] = appID
			case *v == "" && name == wireAppID:
				values[i] = sample[i]
			default:
				values[i] = *v
			}
		}
		return k.New(h, values...), nil
	}
	return nil, usageError(fmt.Sprintf("send: unknown KIND %q: want one of %s", kind, strings.Join(sendKinds(), ", ")))
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
	kinds := sendKinds()
	fs := newFlagSet(e, "send", "send KIND --url URL --token T [--aes-key K --appid A] [--format xml|json] [--mode plain|compatible|safe] [field flags] [--repeat N]\n\nKIND is "+strings.Join(kinds[:len(kinds)-1], ", ")+", or raw with --body FILE.\nThe push is signed (and encrypted) as WeChat does and POSTed with WeChat's query;\nthe answer must come within --timeout with status 200 and a body of \"success\",\nnothing, or a passive reply (transfer_customer_service, encrypted and signed in\ncompatible and safe mode). Otherwise the push is retried, 3 attempts in all.", sendExample)
	var cf configFlags
	cf.register(fs)
	var pf pushFields
	pf.register(fs)
	target := fs.String("url", "", "the push `URL` of the backend (required)")
	format := fs.String("format", "xml", "the data format: xml or json")
	mode := fs.String("mode", "", "the encryption mode: plain, compatible or safe (default safe with --aes-key, plain without)")
	bodyFile := fs.String("body", "", "raw: the plaintext push body to send, from `FILE` (- for standard input), in its own format")
	force := fs.Bool("force", false, "raw: send --body even if it is not a plaintext push, to see how the endpoint takes junk")
	repeat := fs.Int("repeat", 1, "send the same push (same MsgId and CreateTime) `N` times, to exercise deduplication")
	timeout := fs.Duration("timeout", deliver.Timeout, "how long to wait for each answer, as WeChat waits 5 s")
	pause := fs.Duration("retry-pause", deliver.RetryPause, "the pause between attempts")
	if renamedFlag(args, "app-id") {
		return usageError("send: --app-id is now --" + cardAppIDFlag + " (the card's AppId); --appid is the mini program's, for encryption")
	}
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
	d.Timeout, d.Pause = *timeout, *pause

	var body []byte
	if kind == "raw" {
		if body, err = readInput(*bodyFile, e.stdin); err != nil {
			return err
		}
		if err := checkRaw(*bodyFile, body); err != nil && !*force {
			return err
		}
	} else {
		if pf.msgID == "" {
			pf.msgID = randomMsgID()
		}
		if pf.createTime == 0 {
			pf.createTime = time.Now().Unix()
		}
		msg, err := pf.message(kind, cf.appID)
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
		fmt.Fprintf(e.stdout, "push %d/%d: %s, %s, mode %s, to %s\n", i, *repeat, summary, formatOf(body), modeName(d.Mode), *target)
		res := d.Deliver(e.ctx, body, func(a deliver.Attempt) {
			fmt.Fprintf(e.stdout, "  attempt %d/%d: %s\n", a.Attempt, deliver.Attempts, a.Line())
		})
		if !res.OK {
			failed++
		}
		if e.ctx.Err() != nil {
			return e.ctx.Err()
		}
	}
	if failed > 0 {
		return fmt.Errorf("the endpoint failed %d of %d pushes (%d attempts each): WeChat would show the user that the service is unavailable", failed, *repeat, deliver.Attempts)
	}
	return nil
}

// renamedFlag reports whether args, before any "--", use the flag name.
func renamedFlag(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// checkRaw refuses a --body that is not a plaintext push: bad input, not
// an endpoint's failure.
func checkRaw(path string, body []byte) error {
	_, err := csmsg.Parse(body)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, csmsg.ErrEncrypted):
		return fmt.Errorf("send raw: %s is an encrypted envelope: --body takes the plaintext push, which send signs and encrypts itself (--force sends it anyway)", inputName(path))
	}
	return fmt.Errorf("send raw: %s is not a push: %s (--force sends it anyway)", inputName(path), strings.TrimPrefix(err.Error(), "csmsg: "))
}

// pushSummary describes a push in a few words: "text MsgId 6054... from
// o9Ag...", "event user_enter_tempsession from o9Ag...".
func pushSummary(msg csmsg.Message) string {
	h := msg.MsgHeader()
	for _, k := range csmsg.Kinds() {
		values := k.Values(msg)
		if values == nil {
			continue
		}
		if k.Event != "" {
			return fmt.Sprintf("%s %s from %s", k.MsgType, k.Event, h.FromUserName)
		}
		for i, name := range k.Fields {
			if name == wireMsgID {
				return fmt.Sprintf("%s MsgId %s from %s", k.MsgType, values[i], h.FromUserName)
			}
		}
	}
	if m, ok := msg.(*csmsg.Unknown); ok && m.Event != "" {
		return fmt.Sprintf("%s %s from %s", h.MsgType, m.Event, h.FromUserName)
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

// newDeliverer checks the flags of a sender of pushes to target.
func newDeliverer(target string, cf configFlags, mode string) (*deliver.Deliverer, error) {
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
	return deliver.New(target, cfg, m), nil
}
