package csmsgredis

import "github.com/redis/go-redis/v9"

// The Lua scripts, one per Store method, each atomic on the Redis server.
// Every script gets the fixed keys of one queue as KEYS (see keyNames) and
// ARGV[1] = the queue's base name (the hash tag, "{prefix}"), from which it
// names the per-job and per-group keys, all in the same slot; ARGV[2] = the
// time in microseconds since the epoch to use instead of Redis's TIME ("" in
// production: only the suite's hand-driven clock sets it).

// keyNames are the fixed keys, in the order prelude's K table reads them.
var keyNames = []string{"format", "seq", "tok", "kjob", "kfree", "kans", "ready", "wait", "dead", "live", "bytes"}

// prelude is the common head of every script.
const prelude = `
local B = ARGV[1]
local K = {format=KEYS[1], seq=KEYS[2], tok=KEYS[3], kjob=KEYS[4], kfree=KEYS[5], kans=KEYS[6],
  ready=KEYS[7], wait=KEYS[8], dead=KEYS[9], live=KEYS[10], bytes=KEYS[11]}
local function now()
  if ARGV[2] ~= '' then return tonumber(ARGV[2]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function n2s(x) return string.format('%.0f', x) end
local function jk(id) return B .. ':j:' .. id end
local function sk(id) return B .. ':s:' .. id end
local function gk(g) return B .. ':g:' .. g end
-- held returns the group of job id if tok is its live lease at T, or nil.
local function held(id, tok, T)
  local f = redis.call('HMGET', jk(id), 'tok', 'lease', 'dead', 'group')
  if not f[1] or f[1] ~= tok or f[3] == '1' or tonumber(f[2]) <= T then return nil end
  return f[4]
end
-- unqueue takes job id, the head of group g, out of its group; the group's
-- next job becomes ready.
local function unqueue(id, g)
  redis.call('LPOP', gk(g))
  redis.call('ZREM', K.wait, g)
  redis.call('ZREM', K.ready, g)
  local head = redis.call('LINDEX', gk(g), 0)
  if head then redis.call('ZADD', K.ready, head, g) end
  redis.call('DECR', K.live)
  redis.call('DECRBY', K.bytes, redis.call('HSTRLEN', jk(id), 'body'))
end
-- enqueue puts job id at the tail of group g.
local function enqueue(id, g)
  if redis.call('RPUSH', gk(g), id) == 1 then redis.call('ZADD', K.ready, id, g) end
  redis.call('INCR', K.live)
  redis.call('INCRBY', K.bytes, redis.call('HSTRLEN', jk(id), 'body'))
end
-- forget deletes job id and its steps; its key is kept, free, for the
-- key retention counted from its acceptance.
local function forget(id)
  local f = redis.call('HMGET', jk(id), 'key', 'acc')
  if redis.call('HGET', K.kjob, f[1]) == tostring(id) then
    redis.call('HDEL', K.kjob, f[1])
    redis.call('ZADD', K.kfree, f[2], f[1])
  end
  redis.call('DEL', jk(id), sk(id))
end
`

func script(body string) *redis.Script { return redis.NewScript(prelude + body) }

// openScript checks or writes the format version: ARGV[3] is this code's.
var openScript = script(`
local v = redis.call('GET', K.format)
if not v then redis.call('SET', K.format, ARGV[3]); return ARGV[3] end
return v
`)

// acceptScript: ARGV[3] key, [4] group, [5] body, [6] answer, [7] max jobs,
// [8] max bytes, [9] '1' when there is a body. It answers {1, answer} for
// a duplicate, {0} for a key alone, {2} when full, {3, id} for a job.
var acceptScript = script(`
local key = ARGV[3]
if redis.call('HEXISTS', K.kjob, key) == 1 or redis.call('ZSCORE', K.kfree, key) then
  return {1, redis.call('HGET', K.kans, key) or ''}
end
local T = now()
if ARGV[9] ~= '1' then
  redis.call('ZADD', K.kfree, n2s(T), key)
  if ARGV[6] ~= '' then redis.call('HSET', K.kans, key, ARGV[6]) end
  return {0}
end
local body = ARGV[5]
local live = tonumber(redis.call('GET', K.live) or '0')
local bytes = tonumber(redis.call('GET', K.bytes) or '0')
local maxJobs, maxBytes = tonumber(ARGV[7]), tonumber(ARGV[8])
if (maxJobs > 0 and live >= maxJobs) or (maxBytes > 0 and bytes + #body > maxBytes) then return {2} end
local id = redis.call('INCR', K.seq)
redis.call('HSET', jk(id), 'key', key, 'group', ARGV[4], 'body', body, 'acc', n2s(T),
  'att', 0, 'tok', 0, 'lease', 0, 'dead', 0)
redis.call('HSET', K.kjob, key, id)
enqueue(id, ARGV[4])
return {3, id}
`)

// lookupScript: ARGV[3] key. It answers {found, answer}.
var lookupScript = script(`
local key = ARGV[3]
if redis.call('HEXISTS', K.kjob, key) == 1 or redis.call('ZSCORE', K.kfree, key) then
  return {1, redis.call('HGET', K.kans, key) or ''}
end
return {0, ''}
`)

// claimScript: ARGV[3] max, [4] lease in µs. It answers one entry per job:
// {id, token, attempt, key, group, body, accepted µs, last error, {steps}}.
var claimScript = script(`
local T = now()
for _, g in ipairs(redis.call('ZRANGEBYSCORE', K.wait, '-inf', n2s(T))) do
  redis.call('ZREM', K.wait, g)
  local head = redis.call('LINDEX', gk(g), 0)
  if head then redis.call('ZADD', K.ready, head, g) end
end
local out = {}
local leaseEnd = n2s(T + tonumber(ARGV[4]))
for _, g in ipairs(redis.call('ZRANGE', K.ready, 0, tonumber(ARGV[3]) - 1)) do
  redis.call('ZREM', K.ready, g)
  redis.call('ZADD', K.wait, leaseEnd, g)
  local id = redis.call('LINDEX', gk(g), 0)
  local tok = redis.call('INCR', K.tok)
  redis.call('HSET', jk(id), 'tok', tok, 'lease', leaseEnd)
  local att = redis.call('HINCRBY', jk(id), 'att', 1)
  local f = redis.call('HMGET', jk(id), 'key', 'group', 'body', 'acc', 'err')
  out[#out + 1] = {tonumber(id), tok, att, f[1], f[2], f[3], f[4], f[5] or '', redis.call('HGETALL', sk(id))}
end
return out
`)

// The lease scripts: ARGV[3] job id, [4] token, then their own. Each
// answers 0 when the lease is lost, 1 when done.

// renewScript: ARGV[5] lease in µs.
var renewScript = script(`
local T = now()
local g = held(ARGV[3], ARGV[4], T)
if not g then return 0 end
local e = n2s(T + tonumber(ARGV[5]))
redis.call('HSET', jk(ARGV[3]), 'lease', e)
redis.call('ZADD', K.wait, e, g)
return 1
`)

// completeScript answers 2 instead of 1 when the group has a next job.
var completeScript = script(`
local g = held(ARGV[3], ARGV[4], now())
if not g then return 0 end
unqueue(ARGV[3], g)
forget(ARGV[3])
if redis.call('EXISTS', gk(g)) == 1 then return 2 end
return 1
`)

// retryScript: ARGV[5] delay in µs, [6] last error.
var retryScript = script(`
local T = now()
local g = held(ARGV[3], ARGV[4], T)
if not g then return 0 end
local nb = n2s(T + tonumber(ARGV[5]))
redis.call('HSET', jk(ARGV[3]), 'lease', 0, 'err', ARGV[6])
redis.call('ZADD', K.wait, nb, g)
return 1
`)

var returnScript = script(`
local g = held(ARGV[3], ARGV[4], now())
if not g then return 0 end
redis.call('HSET', jk(ARGV[3]), 'lease', 0)
redis.call('HINCRBY', jk(ARGV[3]), 'att', -1)
redis.call('ZREM', K.wait, g)
redis.call('ZADD', K.ready, ARGV[3], g)
return 1
`)

// deadScript: ARGV[5] reason.
var deadScript = script(`
local T = now()
local g = held(ARGV[3], ARGV[4], T)
if not g then return 0 end
unqueue(ARGV[3], g)
redis.call('HSET', jk(ARGV[3]), 'dead', 1, 'died', n2s(T), 'reason', ARGV[5], 'lease', 0)
redis.call('ZADD', K.dead, n2s(T), ARGV[3])
return 1
`)

// saveStepScript: ARGV[5] name, [6] result.
var saveStepScript = script(`
local g = held(ARGV[3], ARGV[4], now())
if not g then return 0 end
redis.call('HSET', sk(ARGV[3]), ARGV[5], ARGV[6])
return 1
`)

// deadLettersScript: ARGV[3] max. One entry per dead letter:
// {id, key, group, body, accepted µs, died µs, attempts, reason}.
var deadLettersScript = script(`
local out = {}
for _, id in ipairs(redis.call('ZRANGE', K.dead, 0, tonumber(ARGV[3]) - 1)) do
  local f = redis.call('HMGET', jk(id), 'key', 'group', 'body', 'acc', 'died', 'att', 'reason')
  out[#out + 1] = {tonumber(id), f[1], f[2], f[3], f[4], f[5], tonumber(f[6]), f[7]}
end
return out
`)

// The dead letter scripts: ARGV[3] job id. Each answers 0 when it is no
// dead letter, 1 when done.

var reviveScript = script(`
local id = ARGV[3]
if not redis.call('ZSCORE', K.dead, id) then return 0 end
redis.call('ZREM', K.dead, id)
redis.call('HSET', jk(id), 'dead', 0, 'att', 0, 'lease', 0, 'err', '')
redis.call('HDEL', jk(id), 'died', 'reason')
enqueue(id, redis.call('HGET', jk(id), 'group'))
return 1
`)

var dropScript = script(`
if redis.call('ZREM', K.dead, ARGV[3]) == 0 then return 0 end
forget(ARGV[3])
return 1
`)

// purgeScript: ARGV[3] key retention in µs, [4] dead retention in µs, [5]
// the most of each to forget in one call. It answers {keys, dead}.
var purgeScript = script(`
local T = now()
local n = tonumber(ARGV[5])
local dead = redis.call('ZRANGEBYSCORE', K.dead, '-inf', n2s(T - tonumber(ARGV[4])), 'LIMIT', 0, n)
for _, id in ipairs(dead) do
  redis.call('ZREM', K.dead, id)
  forget(id)
end
local keys = redis.call('ZRANGEBYSCORE', K.kfree, '-inf', n2s(T - tonumber(ARGV[3])), 'LIMIT', 0, n)
for _, key in ipairs(keys) do
  redis.call('ZREM', K.kfree, key)
  redis.call('HDEL', K.kans, key)
end
return {#keys, #dead}
`)

// statsScript answers {live, bytes, dead, running, retrying, oldest
// head's accepted µs, empty with none}.
var statsScript = script(`
local T = now()
local running, retrying = 0, 0
local oldest = nil
local first = redis.call('ZRANGE', K.ready, 0, 0, 'WITHSCORES')
if first[2] then oldest = tonumber(first[2]) end
local w = redis.call('ZRANGE', K.wait, 0, -1, 'WITHSCORES')
for i = 1, #w, 2 do
  local head = tonumber(redis.call('LINDEX', gk(w[i]), 0))
  if head and (not oldest or head < oldest) then oldest = head end
  if head and tonumber(w[i + 1]) > T then
    if tonumber(redis.call('HGET', jk(head), 'lease')) > T then running = running + 1 else retrying = retrying + 1 end
  end
end
local acc = ''
if oldest then acc = redis.call('HGET', jk(n2s(oldest)), 'acc') end
return {tonumber(redis.call('GET', K.live) or '0'), tonumber(redis.call('GET', K.bytes) or '0'),
  redis.call('ZCARD', K.dead), running, retrying, acc}
`)
