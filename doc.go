// Package csmsg receives WeChat Mini Program customer-service pushes
// (客服消息), the messages a user sends in a mini program's customer-service
// chat, which WeChat's servers POST to the developer's URL as XML or JSON,
// and answers them through WeChat's customer-service API.
//
// # Parsing
//
// [Parse] turns a push body into a typed [Message]. It sniffs XML or JSON
// from the body itself (never from the Content-Type header, which WeChat has
// been seen to get wrong); [ParseXML] and [ParseJSON] skip the sniffing.
// Switch on the result's type:
//
//	msg, err := csmsg.Parse(body)
//	if err != nil {
//		return err // errors.Is(err, csmsg.ErrMalformed), ...
//	}
//	switch m := msg.(type) {
//	case *csmsg.Text: // MsgType "text"
//		fmt.Println(m.Content)
//	case *csmsg.Image: // MsgType "image"
//		fmt.Println(m.PicURL)
//	case *csmsg.MiniProgramPage: // MsgType "miniprogrampage"
//		fmt.Println(m.PagePath)
//	case *csmsg.UserEnterTempSession: // MsgType "event", Event "user_enter_tempsession"
//		fmt.Println(m.SessionFrom)
//	case *csmsg.Unknown: // anything else, with the whole body in m.Raw
//		fmt.Println(m.MsgType, m.Event)
//	}
//
// The package example of Parse runs this on a real push. [Kinds] lists the
// typed kinds, each with its MsgType, Event, wire fields and a sample, for
// tools that must cover them all.
//
// A push of a kind this package has no type for (WeChat's debug_demo,
// subscribe-message events, media-check results, ...) is not an error: it
// comes back as *[Unknown] with its header, its Event and the exact body, so
// a new kind of push never breaks a backend and nothing is dropped.
//
// # Field quirks
//
// WeChat's pushes differ from their documentation in ways this package
// absorbs:
//
//   - MsgId is a 64-bit integer that exceeds 2^53 in real traffic, so it is
//     kept as the exact decimal text (Text.MsgID and the others), never
//     passed through a float64. JSON pushes send it as a number or a
//     string, and a string may hold other text (the cloud-function delivery
//     sends "49d72d...877_1555684067"), kept exactly too.
//   - CreateTime comes as a JSON number or a JSON string holding one.
//   - XML values come as CDATA sections or text with entities, with newlines
//     between elements; unknown elements, however nested, are skipped.
//   - JSON keys and XML element names match WeChat's spelling exactly:
//     "msgtype" is not "MsgType" (encoding/json alone would match it).
//
// # Errors
//
// Every error matches one of the sentinels with [errors.Is]:
// [ErrUnknownFormat] for a body that is neither XML nor JSON,
// [ErrMalformed] for one that is not a well-formed push, and [ErrEncrypted]
// for a safe-mode envelope, which only a receiver holding the
// EncodingAESKey can read. No function in this package panics, whatever the
// input.
//
// # Receiving
//
// A [Receiver] checks that a push really comes from WeChat before it is
// parsed. [NewReceiver] takes the Token, and for compatible and safe mode
// the EncodingAESKey and AppID, from the mini program's message-push
// settings. [Receiver.Handler] is an http.Handler for the push URL: it
// answers WeChat's URL verification (GET), verifies, decrypts and parses
// each push (POST), calls a [HandlerFunc], and answers "success", a passive
// reply such as [Transfer], or a status code that tells WeChat whether to
// retry:
//
//	r, err := csmsg.NewReceiver(csmsg.Config{Token: token, EncodingAESKey: key, AppID: appID})
//	if err != nil {
//		return err
//	}
//	http.Handle("/wechat", r.Handler(func(ctx context.Context, msg csmsg.Message) (*csmsg.Reply, error) {
//		return csmsg.Transfer(msg), nil // or nil, nil: "success"
//	}))
//
// With another framework, read the body yourself and call
// [Receiver.Parse] with the URL query and the body; it returns the errors
// the Handler maps to status codes. [Receiver.EncodeReply] then gives
// exactly what the Handler would answer, a passive reply encrypted and
// signed in compatible and safe mode, or "success".
//
// WeChat waits 5 seconds for an answer, then retries, three attempts in all.
// The Handler handles each push once (see [Deduper] and [DedupKey]): a retry
// of a push that was handled gets the first attempt's answer without
// calling the HandlerFunc again, and a retry that arrives while the first
// attempt runs waits for its answer. So does a replay of a captured push,
// for as long as its signature is accepted. A HandlerFunc that fails
// answers 500, so that WeChat retries. [MemoryDedup] serves one instance;
// the csmsgredis module (github.com/csmsg/csmsg/csmsgredis) shares the
// record between instances on Redis.
//
// A HandlerFunc that may take longer than a second belongs behind the
// inbox module (github.com/csmsg/csmsg/inbox): its Accept answers "success"
// in milliseconds and runs the work later, once, in order per user, through
// crashes and restarts; the Inbox is also the Receiver's Deduper.
//
// Serve the Handler with timeouts, since WeChat's requests are small and
// quick and a client that trickles its body would otherwise hold a
// connection: ReadHeaderTimeout 2s, ReadTimeout 5s, WriteTimeout 10s (the
// HandlerFunc, and a retry waiting for it), IdleTimeout 60s, as the
// Receiver.Handler example does.
//
// # Replying
//
// WeChat waits 5 seconds for the answer to a push: hand the message off in
// the HandlerFunc and answer later with a
// [github.com/csmsg/csmsg/kf.Client], the customer-service send API (text,
// image, link, mini program card, typing, media). A user's message opens a
// reply window of 5 messages in 48 hours, entering the chat one of 2
// messages in a minute; past it WeChat answers a *kf.Error such as
// kf.CodeOutsideWindow or kf.CodeQuotaUsedUp. The default kf.TokenSource
// uses WeChat's stable access tokens, which every instance can fetch for
// itself without invalidating the others' and without a shared store.
//
// # Developing without WeChat
//
// The csmsgtest package builds the requests WeChat sends, signed and
// encrypted for a [Config] in any mode, and package kf/kftest runs an
// offline WeChat customer-service API for a kf.Client, so a test can run a
// whole conversation. The csmsg command (cmd/csmsg) does the same by hand:
// "csmsg send" plays WeChat against a URL and judges its answers, "csmsg
// serve" is a demo receiver, and "csmsg emulate" is a local WeChat with a
// chat page in the browser where the developer plays the user.
//
// # Security
//
// What a Receiver checks, before anything else is read:
//
//   - the signature (plaintext mode) or msg_signature over the body's
//     Encrypt value (compatible and safe mode), compared in constant time;
//   - that the timestamp is within Config.Tolerance of the receiver's clock
//     (5 minutes unless set), against replays;
//   - with a key, that the request is encrypted at all: a plaintext push is
//     refused rather than trusted, and the unsigned plaintext fields of a
//     compatible-mode body are ignored;
//   - the size of the body (Config.MaxBodyBytes, 1 MiB unless set).
//
// Nothing costs an unauthenticated sender more than reading its bounded
// body and one pass of the scanner: in plaintext mode the query's signature
// is checked before the body is read (and a bad one closes the connection),
// and in compatible and safe mode the envelope is read by the scanner
// alone, an envelope it does not take being refused outright.
//
// Decryption is strict: whole AES blocks, PKCS#7 padding of 1 to 32 bytes
// with every pad byte checked, a msg_len within the payload, and the
// trailing appid equal to Config.AppID. Once the signature passes, every
// failure to decrypt or parse the payload is answered alike (400, the same
// body), so that no answer tells which check failed: there is no padding
// oracle. No input panics, and no error, log line or answer holds the
// Token, the key or a body.
//
// A body is read as it arrives, never into a buffer sized by its declared
// Content-Length alone: a request holds at most max(8 KiB, about twice
// the bytes it sent), and a body of n bytes costs at most about 2n + 8 KiB
// in all, its limit checked as the bytes come.
//
// Replays: a push whose signature is still accepted is answered from the
// dedup store and never handled again, at any moment of the Tolerance
// window and whatever clock skew the Tolerance allows: the Handler has the
// store keep a handled push until its signed timestamp plus Tolerance plus
// [RetryWindow], on the receiver's clock. The exception: while the store
// is down the Handler handles pushes anyway (a duplicate is better than a
// lost message), and a replay then may run again.
//
// What the protocol does not guarantee, and csmsg cannot add:
//
//   - In plaintext mode the signature covers the query (Token, timestamp,
//     nonce), not the body: whoever captures one signed query can post any
//     body with it until the timestamp is Tolerance old, and it will be
//     handled. csmsg bounds that to the Tolerance window and to bodies that
//     parse, and handles each distinct body once; use safe mode, whose
//     msg_signature covers the encrypted body.
//   - AES-CBC carries no MAC. The msg_signature is a SHA-1 over the Token,
//     the timestamp, the nonce and the ciphertext: it proves the sender
//     knows the Token, not the key. Whoever has the Token but not the key
//     can flip bits of a captured ciphertext's first block, re-sign it and
//     send it: the first plaintext block, the 16 random bytes nobody
//     checks, decrypts to noise, and the second, the length and the first
//     12 bytes of the message, has exactly those bits flipped. The message
//     begins with known bytes, so {"ToUserName can become {"a":1,"Name: a
//     different valid message, which csmsg accepts, with a different dedup
//     key. The protocol guarantees that a push that passes came from
//     someone who has the Token, and, in safe mode, that someone who has
//     only the Token cannot read it; not that its content is what WeChat
//     sent. Keep the Token as secret as the key, and change both if either
//     leaks.
//
// # Performance
//
// Parse reads WeChat's flat XML and JSON with hand-written scanners: one
// pass over the body, then two allocations, one string of the values (whose
// substrings the fields are) and the message. What the scanners do not fully
// understand (a prolog, comments, attributes, deep nesting, any error) goes
// to reference decoders built on encoding/xml and encoding/json, which define
// the semantics; differential fuzzing holds the two to the same results. A
// Receiver reads the Encrypt value in place and checks the signature
// without allocating when the joined parts fit 1 KiB (an Encrypt value of
// up to about 1,000 bytes: every text push of a few hundred characters);
// a longer one is joined once on the heap. A push through the Handler
// costs no goroutine, timer or channel of its own: the claims of the
// HandlerFuncs running are renewed in one batch by one loop. The
// benchmarks module in the repository measures a push's whole cost and
// parsing against other SDKs.
//
// # Writing
//
// [Marshal] writes a message as WeChat would push it, which is what tests of
// a backend need: Parse(Marshal(m, f)) returns m. The csmsgtest package
// then signs and encrypts it, in any mode, as WeChat would send it to the
// URL, and builds the *http.Request for a handler under test.
package csmsg
