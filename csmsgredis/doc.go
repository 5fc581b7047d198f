// Package csmsgredis keeps csmsg's shared state on Redis, for a backend of
// several instances behind a load balancer. It holds two stores:
//
//   - [Queue], an inbox's queue on Redis: a [queue.Store] that every
//     instance opens with the same prefix on the same Redis (below).
//   - [Dedup], a [csmsg.Deduper] for a Receiver that handles each push
//     within WeChat's 5 seconds, without an inbox (see Deduplication).
//
// The queue, for an inbox:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	q, err := csmsgredis.NewQueue(ctx, rdb, csmsgredis.QueueOptions{Prefix: "bot"})
//	if err != nil { ... }
//	ib := inbox.New(q, inbox.Options{})
//
// A push accepted by one instance is answered "success" by every instance
// on WeChat's retries (the queue is the Receiver's dedup store) and is run
// by whichever instance claims it, in order per user.
//
// # Design
//
// Lists and sorted sets, not Streams. A stream's consumer group hands out
// entries in stream order to any consumer and keeps per-consumer pending
// lists: it has no notion of "only a group's head may run, and the head
// changes only when its job is completed or dead-lettered", so a stream
// per user would need a reader across thousands of streams, and one
// stream for all would let a user's second message run beside the first.
// Lists and sorted sets say the group semantics directly:
//
//   - {P}:g:GROUP, a list per group (mini program, user): the ids of its
//     waiting and running jobs in accept order. Only the head is claimed;
//     Complete and Dead pop it.
//   - {P}:ready, a sorted set of the groups whose head may be claimed now,
//     scored by the head's job id (accept order): Claim takes the lowest,
//     so the user who has waited longest goes first.
//   - {P}:wait, a sorted set of the groups whose head is leased or in
//     backoff, scored by the microsecond its lease or backoff ends. Claim
//     first moves the groups that are due back to ready. A leased or
//     backing-off group sits here and is not even looked at by a claim for
//     other groups: it delays only its own later jobs.
//   - {P}:j:ID, a hash per job (key, group, body, accepted, attempts,
//     fencing token, lease end, last error; dead, died, reason for a dead
//     letter) and {P}:s:ID, its Once records.
//   - {P}:dead, the dead letters scored by their death.
//   - {P}:kjob (dedup key → job id, while the job lives), {P}:kfree (keys
//     without a job, scored by acceptance, for the key retention) and
//     {P}:kans (the answers recorded with keys alone).
//   - {P}:seq (job ids), {P}:tok (fencing tokens), {P}:live and {P}:bytes
//     (the bound of Options.MaxJobs, MaxBytes), {P}:format.
//
// Each method of the Store is one Lua script, so atomic: Accept checks the
// dedup key, the bounds, and writes the key, the job, its group and the
// ready index in one step, and two instances accepting one push make one
// job. A script does O(log n) work per job it touches; Claim also moves the
// groups that came due, Stats reads every leased or backing-off group, and
// Purge forgets at most a thousand keys and dead letters per script.
//
// A Queue sends its calls in pipelines: the calls that arrive while
// earlier ones are on their way to Redis go together, one write and one
// read for all, a few pipelines at a time. Each script is still
// atomic; a pipeline orders nothing between its callers.
//
// # Time, leases and fencing
//
// Lease ends, backoffs, acceptance and death times are read from Redis's
// clock (TIME inside the scripts), never from an instance's: instances with
// skewed clocks agree on when a lease expires. Scripts that call TIME and
// then write are replicated by their effects, the default since Redis 5
// (and the only way in Redis 7): the package needs Redis 5 or later, and
// is tested on 7.0. Each claim takes a new fencing token from
// {P}:tok; Renew, Complete, Retry, Return, Dead and SaveStep check that the
// job still carries the caller's token and that its lease has not ended
// on Redis's clock, else they change nothing and answer
// [queue.ErrLeaseLost]. (The inbox's own Options.Now, which ages jobs for
// MaxAge and Stats, still runs on the instance.)
//
// # Redis Cluster
//
// Every key of a queue starts with the hash tag {P} (P is QueueOptions.Prefix),
// so a queue lives in one slot, on one shard: each script's keys are on
// one node, as Cluster requires, and the scripts run unchanged on a Cluster
// client ([redis.NewClusterClient]; Script.Run routes by the first key).
// The scripts declare the queue's fixed keys and name the per-job and
// per-group keys from the tag: those are in the same slot, which Cluster
// serves, but a Redis that enforces declared keys strictly would refuse
// them. The cost of one slot: one queue's throughput and memory are one
// primary's. Per-group tags would spread the jobs but then need a ready
// index per slot and a claim that visits every slot; this package chose
// the simple one. To spread load over shards, run several queues
// (prefixes), for example one per mini program, each with its inbox.
// The conformance suite runs through a Cluster client on a one-node
// cluster in CI (csmsgredis/ci.sh): that checks the routing and Redis's
// cross-slot checks of the declared keys, not a multi-shard cluster's
// redirects.
//
// # Durability
//
// Accept answers after Redis has applied the script; what that means
// after a crash depends on Redis's persistence settings, which the
// inbox cannot see:
//
//   - appendonly yes, appendfsync always: Redis writes and fsyncs the
//     append-only file before it replies (the writes of one event-loop
//     turn share an fsync), so a push answered "success" survives a crash
//     of Redis or of its host.
//   - appendonly yes, appendfsync everysec: the write normally reaches
//     the operating system before the reply, so a crash of redis-server
//     alone loses nothing (unless a slow disk made Redis postpone the
//     write, up to two seconds), but a crash of the host (power, kernel)
//     loses up to a second (two, when the disk is slow) of pushes already
//     answered "success": WeChat will not resend them. Redis 7.2's WAITAOF would let
//     Accept wait for the fsync; Debian's redis-server 7.0 has none, and
//     this package does not call it.
//   - appendonly no (snapshots alone): everything since the last snapshot.
//   - A replica is written asynchronously: a failover may lose the last
//     pushes answered "success".
//
// Recommended: appendonly yes; appendfsync always where every push counts
// (it costs an fsync per event-loop turn, shared by concurrent accepts),
// everysec where a second of pushes on a host crash is an acceptable loss;
// maxmemory-policy noeviction, so that a full Redis refuses writes (Accept
// fails, the Receiver answers an error status, WeChat retries) instead of
// evicting jobs or dedup keys. A redis-server restarted cleanly (SIGTERM,
// SHUTDOWN) loses nothing: the crash test (two instances behind a front,
// killed with SIGKILL, and one clean redis-server restart) checks it. An
// unclean crash under these settings loses, of the pushes already
// answered "success": with appendfsync always, none; with everysec, none
// when redis-server alone crashes, up to a second of them (two on a slow
// disk) when its host does.
//
// Size Redis's maxmemory for the queue you allow (inbox.Options.MaxJobs,
// MaxBytes): a waiting job of a 300-byte message takes about 1.1 KB
// (100,000 of them: 115 MB of used_memory, Redis 7.0 on x86-64), so a
// million waiting jobs take about 1.1 GB. The instances hold none of it:
// their heaps do not grow with the queue.
//
// # Data at rest
//
// Waiting jobs and dead letters hold users' decrypted messages in Redis:
// keep it on a private network with AUTH (and TLS across hosts). A
// completed or dropped job leaves its dedup key in {P}:kfree until the
// inbox's key retention ends; the format version in {P}:format is checked
// by [NewQueue] ([queue.ErrFormat] for another format).
//
// # Deduplication
//
// [Dedup] is a [csmsg.Deduper] kept in Redis, so that a push is handled
// once across every instance of a backend behind a load balancer.
//
// WeChat gives a push 5 seconds and then sends it again, three attempts in
// all, and the retry may reach any instance. With a [Dedup] shared by the
// instances, a retry of a handled push is answered what the first attempt
// answered (a transfer to the customer-service tool stays a transfer,
// encrypted afresh for the retry in safe mode) without calling the
// HandlerFunc again, and a retry that arrives while another instance is
// still handling the push waits for that attempt's outcome. Wiring:
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
//		Dedup:  csmsgredis.NewDedup(rdb, csmsgredis.DedupOptions{}),
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
// Keys: a push is one key, [DedupOptions.Prefix] (default
// "csmsg:dedup:") followed by csmsg.DedupKey of the push. Its value is a one-byte tag and a payload:
// "c" and the owner of the attempt handling the push, expiring after the
// Lease (default csmsg.DefaultDedupLease, 8 s) unless the Handler extends
// it; or, once handled, "d" and the answer that attempt wrote (empty for
// "success"), expiring at the keep-until time the Receiver passes (the
// push's signed timestamp plus its Tolerance plus csmsg.RetryWindow: 5
// minutes 15 seconds past the timestamp by default, so that a replay is
// answered from Redis for as long as its signature is accepted), or after
// the TTL (default csmsg.DefaultDedupTTL, 60 s) if that is later. An
// attempt with a later keep-until (a retry, signed later) extends the key.
// Redis turns the keep-until into a time to live with the Dedup's clock
// ([DedupOptions.Now]); instances whose clocks differ by less than
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
// [DedupOptions.MinPoll] (20 ms), doubling up to [DedupOptions.MaxPoll]
// (200 ms), never past the claim's expiry: each waiting retry makes one Redis round
// trip a pause, about eight a second at most.
//
// When Redis fails, every Redis error is returned, wrapped, to the csmsg
// Handler. A failed Acquire does not refuse the push: the Handler handles it without
// deduplication and reports the failure to csmsg.Config.Logger. While
// Redis is down a retry may therefore be handled twice; that is the
// trade-off chosen, since a duplicate is better than a lost message:
// refusing pushes while Redis is down would lose each of them once
// WeChat's three attempts are spent. A failed Complete or Release is logged as well; the claim then
// expires after its Lease.
package csmsgredis
