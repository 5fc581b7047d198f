// Package inbox answers WeChat in milliseconds and handles each push later,
// once, in order per user: a durable queue of pushes between a
// [csmsg.Receiver] and slow work (a language model, an order lookup, a
// human).
//
//	ib, err := inbox.Open("bot.inbox", inbox.Options{})
//	if err != nil { ... }
//	defer ib.Close()
//	r, err := csmsg.NewReceiver(csmsg.Config{Token: token, Dedup: ib})
//	http.Handle("/wx", r.Handler(ib.Accept))
//	go ib.Run(ctx, func(ctx context.Context, job *inbox.Job) error {
//		answer, err := job.Once(ctx, "model", func(ctx context.Context) ([]byte, error) {
//			return askModel(ctx, job.Message)
//		})
//		if err != nil {
//			return err
//		}
//		_, err = job.Once(ctx, "reply", func(ctx context.Context) ([]byte, error) {
//			return nil, sendReply(ctx, job.Message, answer)
//		})
//		return err
//	})
//
// The semantics are those of Amazon SQS FIFO's message groups, with the
// user as the group.
//
// # Accepting
//
// [Inbox.Accept] is the HandlerFunc: it records the push's dedup key
// ([csmsg.DedupKey]) and its job in one durable commit, then the Receiver
// answers "success". The Inbox is also the Receiver's [csmsg.Deduper], so
// that its store is the only dedup store: a retry or a replay of an
// accepted push finds the key and is answered "success" without a second
// job. Keys are kept for Options.KeyRetention after acceptance (and while
// their job lives): by default 2×Tolerance + 2×csmsg.RetryWindow, which
// covers every keep-until time the Receiver asks of its Deduper (a
// push's timestamp + Tolerance + RetryWindow), whatever the clock skew. Options.Fast
// may answer a push at once (a [csmsg.Transfer]) instead; its answer is
// recorded under the key for the retries.
//
// A full queue (Options.MaxJobs, Options.MaxBytes) or a failing store is
// an error: the Receiver answers 500 and WeChat retries. The reason is
// logged.
//
// # Processing
//
// [Inbox.Run] calls its function for each job. The group is the pair
// (ToUserName, FromUserName): a group's jobs run one at a time in accept
// order, and the next starts only after the previous one's outcome is
// durable; groups run in parallel, up to Options.Workers. A group whose job
// runs long or waits in backoff holds only its own later jobs: a claim
// takes the heads of the groups that are ready, oldest first.
//
// An error or a panic retries with exponential backoff and jitter
// ([DefaultBackoff]) up to Options.MaxAttempts; then the job becomes a
// dead letter with its last error, and the group's next job runs. A
// [Permanent] error, or one with a method Permanent() bool that reports
// true, dead-letters at once, and so does a job older than WeChat's
// 48-hour reply window. [Inbox.Retry] queues a dead letter again after
// its group's waiting jobs; [Inbox.Drop] deletes it; Run purges dead
// letters after Options.DeadRetention.
//
// # Crashes and leases
//
// A claim counts the attempt durably before the job runs, so a job that
// kills its process each time dead-letters after MaxAttempts instead of
// crash-looping. A claim is a lease that the running worker renews every
// third of Options.Lease; a job whose worker or process died runs again
// once the lease expires. Each claim carries a fencing token that
// completion and [Job.Once] check: a worker that paused past its lease
// cannot complete the job, record a step, or let the group's next job
// start. The job's context is cancelled when a renewal fails.
//
// # Side effects once
//
// [Job.Once] runs a named step at most once across the job's runs and
// records its result, which later runs get back: a re-run reuses the
// model's answer or an uploaded media id, and a reply sent inside Once is
// not sent again. The gap: a process that dies after the step's effect and
// before its record is durable repeats the step on the next run.
//
// # Shutdown
//
// When Run's context ends, no job starts; running jobs have
// Options.DrainTimeout to finish, then their contexts are cancelled, and a
// job that fails then goes back to its group's head without counting the
// attempt.
//
// # Seeing and mending
//
// [Inbox.Stats] counts the jobs waiting, in backoff, running and dead,
// and the age of the oldest waiting one; Options.Logger gets a line for
// each retry, each dead letter and each dead letter retried or dropped by
// hand. [Inbox.AdminHandler] is a page and a JSON API for the same: the
// counts, the dead letters with their errors, and a retry and a drop
// button; the command 'csmsg inbox list|retry|drop --url ADMIN_URL' calls
// that API. It shows users' messages, so nothing mounts it: serve it
// behind the application's authentication, or on a loopback listener.
// It refuses state-changing requests from other sites' pages.
//
// # Stores
//
// The inbox runs on a [queue.Store]. [Open] uses the bbolt file of package
// boltstore, for one instance: each accept is fsynced before "success" is
// answered, concurrent accepts share a commit, a second process gets an
// error at Open, and the file (mode 0600, it holds users' messages) keeps
// its size: see that package on compaction. [New] takes any Store:
// memstore's, in memory and not durable, is for tests.
//
// The Store interface and its types live in package queue, and the
// conformance suite in package storetest; neither imports bbolt. A store in
// another module implements queue.Store and runs storetest.Run without
// building bbolt: github.com/csmsg/csmsg/csmsgredis's NewQueue keeps the
// queue on Redis, for several instances. Package inbox itself imports
// boltstore, for Open: a program that uses the inbox over another store
// still builds bbolt (the linker drops what it does not call), and the
// inbox module's go.mod requires it. That is the price of inbox.Open being
// all a user writes for the common case.
//
// # Data at rest
//
// Waiting jobs and dead letters hold users' decrypted messages; a
// completed job leaves only its key (which holds the mini program's id,
// the user's openid and the MsgId) until the key's retention ends. Log
// lines hold job ids, attempts and errors, never a message.
package inbox
