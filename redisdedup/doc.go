// Package redisdedup is a [csmsg.Deduper] kept in Redis, so that a push is
// handled once across every instance of a backend behind a load balancer.
//
// WeChat gives a push 5 seconds and then sends it again, three attempts in
// all, and the retry may reach any instance. With a [Store] shared by the
// instances, a retry of a handled push is answered what the first attempt
// answered (a transfer to the customer-service tool stays a transfer,
// encrypted afresh for the retry in safe mode) without calling the
// HandlerFunc again, and a retry that arrives while another instance is
// still handling the push waits for that attempt's outcome.
//
// # Wiring
//
//	rdb := redis.NewClient(&redis.Options{
//		Addr:                  "127.0.0.1:6379",
//		DialTimeout:           500 * time.Millisecond,
//		ReadTimeout:           500 * time.Millisecond,
//		WriteTimeout:          500 * time.Millisecond,
//		ContextTimeoutEnabled: true,
//		MaxRetries:            1,
//		DialerRetries:         1,
//	})
//	r, err := csmsg.NewReceiver(csmsg.Config{
//		Token:  token,
//		Dedup:  redisdedup.New(rdb, redisdedup.Options{}),
//		Logger: slog.Default(),
//	})
//
// Any go-redis UniversalClient works: a single node, Sentinel
// (redis.NewFailoverClient) or a Cluster (redis.NewClusterClient). Each
// operation touches one key, so no hash tags are needed. Keep the client's
// timeouts and retries well under WeChat's 5 seconds, as above: a Redis
// that hangs or is down delays every push by as much. With go-redis's
// default retries (three, each dialing five times) a push waits about 2
// seconds for a stopped Redis; with the settings above about 0.2 s.
//
// # Keys
//
// A push is one key, [Options.Prefix] (default "csmsg:dedup:") followed
// by csmsg.DedupKey of the push. Its value is a one-byte tag and a payload:
// "c" and the owner of the attempt handling the push, expiring after the
// Lease (default csmsg.DefaultDedupLease, 8 s) unless the Handler extends
// it; or, once handled, "d" and the answer that attempt wrote (empty for
// "success"), expiring at the keep-until time the Receiver passes (the
// push's signed timestamp plus its Tolerance plus csmsg.RetryWindow: 5
// minutes 15 seconds past the timestamp by default, so that a replay is
// answered from Redis for as long as its signature is accepted), or after
// the TTL (default csmsg.DefaultDedupTTL, 60 s) if that is later. An
// attempt with a later keep-until (a retry, signed later) extends the key.
// Redis turns the keep-until into a time to live with the store's clock
// ([Options.Now]); instances whose clocks differ by less than
// csmsg.RetryWindow agree.
//
// Claiming is one Lua script (GET, then SET PX if free, or PEXPIRE to
// extend a handled key); completing and releasing are compare-the-owner
// Lua scripts, so only the attempt holding a claim can change it, and one
// that lost its claim gets an error matching csmsg.ErrNotOwner. A fresh
// push costs two round trips (claim; complete with the answer), a retry or
// replay of a handled push one. Extending is the same compare-the-owner
// script for every claim a Receiver holds, pipelined in one round trip
// every csmsg.DedupRenewInterval while any HandlerFunc runs (one per node
// on a Cluster); claims it no longer holds are reported to the Receiver,
// which logs them. An instance that dies mid-push leaves a claim that
// expires after the Lease, and WeChat's next retry handles the push.
//
// Memory: a handled key holds the prefix, the dedup key (about 75 bytes),
// the tag and the answer (empty for "success"): about 180 bytes in Redis
// with its overhead (MEMORY USAGE says 152, and its expiry more), kept 5
// minutes 15 seconds: about 6 MB at 100 pushes a second, 60 MB at 1,000.
//
// A retry that finds the push claimed polls the key, first after
// [Options.MinPoll] (20 ms), doubling up to [Options.MaxPoll] (200 ms),
// never past the claim's expiry: each waiting retry makes one Redis round
// trip a pause, about eight a second at most.
//
// # When Redis fails
//
// Every Redis error is returned, wrapped, to the csmsg Handler. A failed
// Acquire does not refuse the push: the Handler handles it without
// deduplication and reports the failure to csmsg.Config.Logger. While
// Redis is down a retry may therefore be handled twice; that is the
// trade-off chosen, since a duplicate is better than a lost message:
// refusing pushes while Redis is down would lose each of them once
// WeChat's three attempts are spent. A failed Complete or Release is logged as well; the claim then
// expires after its Lease.
package redisdedup
