// Package crashtest kills inbox bots with SIGKILL while it plays WeChat on
// both sides of them, and checks the inbox's promises: every push answered
// "success" is processed, in order per user, and a push is processed (or
// its Once step run) twice only if its job was running or completing at a
// kill.
//
// The Driver sends signed pushes as Config.Users users, each user's next
// push only after the previous one was answered or abandoned (WeChat's
// Config.Attempts attempts, each waiting Config.Timeout), and serves the
// customer-service API the bots reply through (a kftest fake, recording
// the replies). A bot is a process the Driver starts, kills and starts
// again ([Driver.StartBot]); it runs an inbox whose store is wrapped by
// [Events.Store] and whose job is [Events.Func], and writes the Events on
// its standard output. The inbox module's own test runs one bot on the
// file store (internal/crashbot); a store in another module runs its bots
// the same way, with a front spreading pushes between them as the url
// given to [Driver.Run].
package crashtest
