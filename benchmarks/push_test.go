package benchmarks

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgredis"
	"github.com/csmsg/csmsg/csmsgtest"
	"github.com/redis/go-redis/v9"
	silenceperconfig "github.com/silenceper/wechat/v2/miniprogram/config"
	silenceperctx "github.com/silenceper/wechat/v2/miniprogram/context"
	silenceper "github.com/silenceper/wechat/v2/miniprogram/message"
)

// BenchmarkPush measures a push's whole cost in process: a pre-built
// *http.Request with a fresh body each iteration, answered through a
// reusable ResponseWriter, each iteration a different text push (numPushes
// in turn, signed and encrypted beforehand), for each mode and format:
//
//   - floor: the work the mode cannot skip, in plain code: io.ReadAll,
//     URL.Query(), the signature's SHA-1 over the sorted joined strings,
//     and with a key bytes.Index for Encrypt, msg_signature's SHA-1, a
//     base64 decode and AES-CBC with a cipher made once; then "success".
//   - read: read the body and write "success", nothing else.
//   - csmsg: Receiver.Handler with the default dedup (a MemoryDedup).
//   - csmsg-315k: the same, its MemoryDedup holding 315,000 other pushes
//     (what it keeps at 1,000 pushes a second).
//   - csmsg-nodedup: the same with Config.DisableDedup.
//   - csmsg-redis: the same with csmsgredis.Dedup (only with REDIS_ADDR).
//   - silenceper: silenceper/wechat v2.1.10's PushReceiver.GetMsgData and
//     json.Unmarshal or xml.Unmarshal into a flat struct. It checks less:
//     no msg_signature, no timestamp, no dedup; compatible mode is its safe
//     path.
//
// Every push the Handler sees is new to its dedup store: each numPushes
// iterations (the timer stopped) the MemoryDedup's clock moves past the
// keep-until of the pushes sent, so that they expire as the next ones
// come, as at a steady rate (about numPushes entries kept); with Redis a
// Receiver is made afresh with a new key prefix.
func BenchmarkPush(b *testing.B) {
	for _, mode := range csmsgtest.Modes() {
		for _, f := range []csmsg.Format{csmsg.FormatXML, csmsg.FormatJSON} {
			set := pushSet(b, mode, f)
			for _, im := range pushImpls(b, mode) {
				b.Run("body="+mode.String()+"-"+strings.ToLower(f.String())+"/impl="+im.name, func(b *testing.B) {
					if im.skip != "" {
						b.Skip(im.skip)
					}
					b.ReportAllocs()
					b.SetBytes(int64(len(set.pushes[0].body)))
					serve, next := im.make(b)
					w := newResponse()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if i > 0 && i%numPushes == 0 {
							b.StopTimer()
							if next != nil {
								next()
							} else {
								serve, _ = im.make(b)
							}
							b.StartTimer()
						}
						p := &set.pushes[i%numPushes]
						p.reset()
						w.reset()
						serve(w, p.req)
						if w.code != http.StatusOK || w.n != len("success") {
							b.Fatalf("push %d: %d, %d bytes", i, w.code, w.n)
						}
					}
				})
			}
		}
	}
}

// numPushes is how many different pushes of each mode and format
// BenchmarkPush sends in turn.
const numPushes = 8192

// The receiving mini program and its WeChat clock.
var (
	pushCfg = csmsg.Config{
		Token:          "csmsgbenchtoken",
		EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
		AppID:          "wxba5fad812f8e6fb9",
	}
	pushTime = time.Unix(1714037059, 0)
)

// receiverCfg returns the Config of a receiver of mode.
func receiverCfg(mode csmsgtest.Mode) csmsg.Config {
	cfg := pushCfg
	if mode == csmsgtest.ModePlaintext {
		cfg.EncodingAESKey, cfg.AppID = "", ""
	}
	cfg.Now = func() time.Time { return pushTime }
	return cfg
}

// pushes is the pushes of one mode and format, each a request ready to
// serve.
type pushes struct {
	mode   csmsgtest.Mode
	f      csmsg.Format
	pushes []push
}

// push is one request and the body it is reset to before each serving.
type push struct {
	req  *http.Request
	body []byte
	rd   bytes.Reader
	rc   readCloser
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// reset makes p's request fresh: its body unread, no form parsed.
func (p *push) reset() {
	p.rd.Reset(p.body)
	p.req.Body = p.rc
	p.req.Form, p.req.PostForm = nil, nil
}

// lastSet keeps the pushes of the mode and format benchmarked last, which
// the sub-benchmarks of one share (each runs several times).
var lastSet *pushes

// pushSet returns numPushes different text pushes of mode and format.
func pushSet(tb testing.TB, mode csmsgtest.Mode, f csmsg.Format) *pushes {
	if lastSet != nil && lastSet.mode == mode && lastSet.f == f {
		return lastSet
	}
	lastSet = nil // let the previous go first
	set := &pushes{mode: mode, f: f, pushes: make([]push, numPushes)}
	cfg := receiverCfg(mode)
	for i := range set.pushes {
		msg := &csmsg.Text{
			Header: csmsg.Header{
				ToUserName:   "gh_97417a04a28d",
				FromUserName: "o9AgO5Kd5ggOC-bXrbNODI" + strconv.Itoa(100000+i%1000),
				CreateTime:   pushTime.Unix(),
				MsgType:      csmsg.MsgTypeText,
			},
			Content: sentences[i%len(sentences)],
			MsgID:   strconv.FormatInt(6054768590064713728+int64(i), 10),
		}
		p, err := csmsgtest.SignMessage(cfg, mode, msg, f)
		if err != nil {
			tb.Fatal(err)
		}
		req, err := p.Request("/wechat")
		if err != nil {
			tb.Fatal(err)
		}
		contentType := "application/json"
		if f == csmsg.FormatXML {
			contentType = "text/xml"
		}
		req.Header.Set("Content-Type", contentType)
		pp := &set.pushes[i]
		pp.req, pp.body = req, p.Body
		pp.rc = readCloser{&pp.rd}
	}
	lastSet = set
	return set
}

// response is a ResponseWriter that keeps the status and counts the bytes.
type response struct {
	header http.Header
	code   int
	n      int
}

func newResponse() *response { return &response{header: http.Header{}} }

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *response) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}

func (w *response) reset() {
	clear(w.header)
	w.code, w.n = 0, 0
}

// pushImpl is one way to answer a push: make returns a fresh handler, and
// what makes the pushes sent so far new to it again (nil: make another
// handler).
type pushImpl struct {
	name string
	skip string // why it is skipped, or ""
	make func(tb testing.TB) (serve func(w http.ResponseWriter, req *http.Request), next func())
}

// stateless returns the make of a handler that keeps no state.
func stateless(serve func(http.ResponseWriter, *http.Request)) func(testing.TB) (func(http.ResponseWriter, *http.Request), func()) {
	return func(testing.TB) (func(http.ResponseWriter, *http.Request), func()) { return serve, func() {} }
}

// pushImpls returns the implementations benchmarked in mode, the floor
// first.
func pushImpls(tb testing.TB, mode csmsgtest.Mode) []pushImpl {
	handler := func(cfg csmsg.Config) func(http.ResponseWriter, *http.Request) {
		r, err := csmsg.NewReceiver(cfg)
		if err != nil {
			tb.Fatal(err)
		}
		return r.Handler(handleText).ServeHTTP
	}
	redisSkip := ""
	if os.Getenv("REDIS_ADDR") == "" {
		redisSkip = "set REDIS_ADDR to a Redis to benchmark csmsgredis.Dedup"
	}
	return []pushImpl{
		{name: "floor", make: stateless(newFloor(mode).serve)},
		{name: "read", make: stateless(readOnly)},
		{name: "csmsg", make: func(testing.TB) (func(http.ResponseWriter, *http.Request), func()) {
			// The default dedup, a MemoryDedup, on a clock of its own.
			cfg := receiverCfg(mode)
			var clock time.Duration
			cfg.Dedup = &csmsg.MemoryDedup{Now: func() time.Time { return pushTime.Add(clock) }}
			return handler(cfg), func() { clock += csmsg.DefaultTolerance + csmsg.RetryWindow + time.Minute }
		}},
		{name: "csmsg-315k", make: func(tb testing.TB) (func(http.ResponseWriter, *http.Request), func()) {
			// The same, its MemoryDedup already holding the 315,000 other
			// pushes it keeps at 1,000 a second, so that its maps are as
			// large, and as far from the CPU's caches, as they are then.
			cfg := receiverCfg(mode)
			var clock time.Duration
			d := &csmsg.MemoryDedup{Now: func() time.Time { return pushTime.Add(clock) }}
			fill(tb, d, 315_000)
			cfg.Dedup = d
			return handler(cfg), func() { clock += csmsg.DefaultTolerance + csmsg.RetryWindow + time.Minute }
		}},
		{name: "csmsg-nodedup", make: func(testing.TB) (func(http.ResponseWriter, *http.Request), func()) {
			cfg := receiverCfg(mode)
			cfg.DisableDedup = true
			return handler(cfg), func() {}
		}},
		{name: "csmsg-redis", skip: redisSkip, make: func(tb testing.TB) (func(http.ResponseWriter, *http.Request), func()) {
			cfg := receiverCfg(mode)
			cfg.Dedup = csmsgredis.NewDedup(benchRedis(tb), csmsgredis.DedupOptions{Prefix: benchPrefix(), Now: cfg.Now})
			return handler(cfg), nil
		}},
		{name: "silenceper", make: stateless(newSilenceper().serve)},
	}
}

// fill records n handled pushes in d, kept for a day.
func fill(tb testing.TB, d *csmsg.MemoryDedup, n int) {
	ctx := context.Background()
	until := pushTime.Add(24 * time.Hour)
	for i := 0; i < n; i++ {
		key := "msg|15:gh_97417a04a28d|28:oFill" + strconv.Itoa(i)
		if _, _, err := d.Acquire(ctx, key, "fill", until); err != nil {
			tb.Fatal(err)
		}
		if err := d.Complete(ctx, key, "fill", nil, until); err != nil {
			tb.Fatal(err)
		}
	}
}

// handleText is the HandlerFunc of the benchmark: it looks at the text.
func handleText(_ context.Context, msg csmsg.Message) (*csmsg.Reply, error) {
	if t, ok := msg.(*csmsg.Text); ok && t.Content == "" {
		return nil, io.ErrUnexpectedEOF
	}
	return nil, nil
}

var successBody = []byte("success")

// readOnly reads the body and answers "success".
func readOnly(w http.ResponseWriter, req *http.Request) {
	if _, err := io.ReadAll(req.Body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Write(successBody)
}

// floor is the work a mode cannot skip, written plainly.
type floor struct {
	token   string
	block   cipher.Block // nil in plaintext mode
	iv      []byte
	encrypt bool
}

func newFloor(mode csmsgtest.Mode) *floor {
	f := &floor{token: pushCfg.Token}
	if mode == csmsgtest.ModePlaintext {
		return f
	}
	key, err := base64.StdEncoding.DecodeString(pushCfg.EncodingAESKey + "=")
	if err != nil {
		panic(err)
	}
	if f.block, err = aes.NewCipher(key); err != nil {
		panic(err)
	}
	f.iv, f.encrypt = key[:16], true
	return f
}

// sign is WeChat's signature: the SHA-1 of the sorted parts joined.
func sign(parts ...string) string {
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

func (f *floor) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	q := req.URL.Query()
	ts, nonce := q.Get("timestamp"), q.Get("nonce")
	if sign(f.token, ts, nonce) != q.Get("signature") {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if f.encrypt {
		enc := encryptValue(body)
		if enc == nil || sign(f.token, ts, nonce, string(enc)) != q.Get("msg_signature") {
			http.Error(w, "bad msg_signature", http.StatusUnauthorized)
			return
		}
		ct := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
		n, err := base64.StdEncoding.Decode(ct, enc)
		if err != nil || n%aes.BlockSize != 0 {
			http.Error(w, "bad Encrypt", http.StatusBadRequest)
			return
		}
		cipher.NewCBCDecrypter(f.block, f.iv).CryptBlocks(ct[:n], ct[:n])
	}
	w.Write(successBody)
}

// encryptValue finds the Encrypt value of a JSON or XML envelope with
// bytes.Index.
func encryptValue(body []byte) []byte {
	for _, m := range [][2]string{{`"Encrypt":"`, `"`}, {"<Encrypt><![CDATA[", "]]>"}} {
		if i := bytes.Index(body, []byte(m[0])); i >= 0 {
			rest := body[i+len(m[0]):]
			if j := bytes.Index(rest, []byte(m[1])); j >= 0 {
				return rest[:j]
			}
		}
	}
	return nil
}

// silenceperPath is silenceper/wechat v2.1.10's receive path, as its users
// run it: PushReceiver.GetMsgData, then the message decoded into a flat
// struct, and "success".
type silenceperPath struct{ r *silenceper.PushReceiver }

func newSilenceper() *silenceperPath {
	cfg := &silenceperconfig.Config{AppID: pushCfg.AppID, Token: pushCfg.Token, EncodingAESKey: pushCfg.EncodingAESKey}
	return &silenceperPath{r: silenceper.NewPushReceiver(&silenceperctx.Context{Config: cfg})}
}

func (s *silenceperPath) serve(w http.ResponseWriter, req *http.Request) {
	_, _, data, err := s.r.GetMsgData(req)
	if err != nil {
		http.Error(w, "bad push", http.StatusBadRequest)
		return
	}
	raw, ok := data.([]byte)
	if !ok {
		http.Error(w, "not a message", http.StatusBadRequest)
		return
	}
	var msg flatMessage
	if strings.HasPrefix(req.Header.Get("Content-Type"), "text/xml") {
		err = xml.Unmarshal(raw, &msg)
	} else {
		err = json.Unmarshal(raw, &msg)
	}
	if err != nil || msg.Content == "" {
		http.Error(w, "bad message", http.StatusBadRequest)
		return
	}
	w.Write(successBody)
}

// benchRedis returns a client of the Redis at REDIS_ADDR, shared by the
// benchmarks.
func benchRedis(tb testing.TB) *redis.Client {
	if sharedRedis == nil {
		sharedRedis = redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})
		if err := sharedRedis.Ping(context.Background()).Err(); err != nil {
			tb.Fatal(err)
		}
	}
	return sharedRedis
}

var (
	sharedRedis *redis.Client
	prefixSeq   int
)

// benchPrefix returns a Redis key prefix no earlier store used.
func benchPrefix() string {
	prefixSeq++
	return "csmsgbench:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":" + strconv.Itoa(prefixSeq) + ":"
}

// TestPushPaths checks that every implementation of BenchmarkPush answers
// a push of each mode and format "success", and refuses one whose
// signature is wrong, so that the benchmark compares work that succeeds.
func TestPushPaths(t *testing.T) {
	for _, mode := range csmsgtest.Modes() {
		for _, f := range []csmsg.Format{csmsg.FormatXML, csmsg.FormatJSON} {
			set := pushSet(t, mode, f)
			for _, im := range pushImpls(t, mode) {
				if im.skip != "" || im.name == "csmsg-315k" { // csmsg's path, with a slow start
					continue
				}
				serve, _ := im.make(t)
				w := newResponse()
				for i := 0; i < 3; i++ {
					p := &set.pushes[i]
					p.reset()
					w.reset()
					serve(w, p.req)
					if w.code != http.StatusOK || w.n != len("success") {
						t.Errorf("%v %v %s: push %d: %d, %d bytes", mode, f, im.name, i, w.code, w.n)
					}
				}
				if im.name == "read" {
					continue
				}
				p := &set.pushes[3]
				bad := *p.req
				q := bad.URL.Query()
				q.Set("signature", strings.Repeat("0", 40))
				q.Set("msg_signature", strings.Repeat("0", 40))
				u := *bad.URL
				u.RawQuery = q.Encode()
				bad.URL = &u
				p.reset()
				bad.Body = p.req.Body
				w.reset()
				serve(w, &bad)
				if w.code == http.StatusOK {
					t.Errorf("%v %v %s: a wrong signature is answered 200", mode, f, im.name)
				}
			}
		}
	}
}
