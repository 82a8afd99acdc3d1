/**
 * Lua scripts of the Redis limiter. One script call per request admission: every limit that applies
 * is tested and only if all pass are all taken, so N gateway processes on one Redis enforce one limit.
 *
 * Data model (per check i, KEYS[i] = log key; a tokens log has a sibling counter KEYS[i] .. ':sum',
 * in the same cluster slot thanks to the `{rl}` hash tag every key carries):
 * - requests ("r"): sorted set of request ids scored by admission time (ms).
 * - tokens ("t"): sorted set of "<id>:<tokens>" scored by admission time, plus a counter (sum key)
 *   holding the sum of the tokens in the set, so a check costs O(log n) and not a scan.
 * - concurrency ("c"): sorted set of request ids scored by lease expiry (ms); expired leases are
 *   dropped before counting, so slots of a crashed process free themselves.
 * A window is (now − window, now]: an entry scored `now − window` or older no longer counts.
 *
 * Limits large enough to be leased (src/ratelimit/leases.ts; the spec letter is upper case, R/T/C)
 * also have a lease log KEYS[i] .. ':l' with its counter ':l:sum': members "<process>.<n>:<units>",
 * scored by the lease's start (requests/tokens) or expiry (concurrency blocks). Every decision
 * counts the leases of every process as taken.
 */

const HELPERS = `
local function weight(member)
  return tonumber(string.match(member, ':(%d+)$')) or 0
end

-- Drops token entries that left the window and returns the tokens still in it.
local function trim_tokens(key, sumkey, cutoff)
  local old = redis.call('ZRANGE', key, '-inf', cutoff, 'BYSCORE')
  local sum
  if #old > 0 then
    local gone = 0
    for _, m in ipairs(old) do gone = gone + weight(m) end
    redis.call('ZREMRANGEBYSCORE', key, '-inf', cutoff)
    sum = redis.call('DECRBY', sumkey, gone)
  else
    sum = tonumber(redis.call('GET', sumkey) or '0')
  end
  if sum <= 0 then
    -- Self-heal: an empty log means zero, whatever the counter says.
    if redis.call('ZCARD', key) == 0 then
      redis.call('DEL', sumkey)
      return 0
    end
    if sum < 0 then sum = 0 end
  end
  return sum
end

-- Units leased by processes and still counting: for requests/tokens taken after cutoff, for
-- concurrency blocks not yet expired (cutoff = now).
local function leased(key, cutoff)
  local lkey = key .. ':l'
  return trim_tokens(lkey, lkey .. ':sum', cutoff)
end
`;

/**
 * ARGV: now, id, leaseMs, spec — spec packs every check as "kind,limit,windowMs,cost;" (one string
 * instead of four arguments per check: encoding arguments is most of the client's CPU per call).
 * Returns {1, 0, 0, used...} or {0, failedIndex, retryAfterMs, used...}; `used` counts this request
 * when admitted.
 */
export const ADMIT_LUA = `${HELPERS}
local now = tonumber(ARGV[1])
local id = ARGV[2]
local lease = tonumber(ARGV[3])
local kinds, limits, wins, costs = {}, {}, {}, {}
local n = 0
for kind, limit, win, cost in string.gmatch(ARGV[4], '(%a),(%d+),(%d+),(%d+);') do
  n = n + 1
  kinds[n] = kind
  limits[n] = tonumber(limit)
  wins[n] = tonumber(win)
  costs[n] = tonumber(cost)
end
local used = {}
local failed = 0
local retry = 0

for i = 1, n do
  local kind = kinds[i]
  local limit = limits[i]
  local win = wins[i]
  local cost = costs[i]
  local key = KEYS[i]
  local wait = -1
  local extra = 0
  if kind == 'R' or kind == 'T' then
    extra = leased(key, now - win)
  elseif kind == 'C' then
    extra = leased(key, now)
  end
  kind = string.lower(kind)
  kinds[i] = kind
  if kind == 'r' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - win)
    local own = redis.call('ZCARD', key)
    local cur = own + extra
    used[i] = cur
    if cur + 1 > limit then
      -- The request fits once the (cur - limit + 1) oldest entries have left the window (leases
      -- aside: with them the wait read here is a lower bound, the window an upper one).
      local idx = cur - limit
      wait = win
      if idx < own then
        local e = redis.call('ZRANGE', key, idx, idx, 'WITHSCORES')
        if e[2] then wait = tonumber(e[2]) + win - now end
      end
    end
  elseif kind == 't' then
    local sum = trim_tokens(key, key .. ':sum', now - win) + extra
    used[i] = sum
    -- A request larger than the whole limit may pass only through an empty window.
    local c = cost
    if c > limit then c = limit end
    if sum + c > limit then
      local need = sum + c - limit
      local freed = 0
      local offset = 0
      wait = win
      local found = false
      while not found do
        local batch = redis.call('ZRANGE', key, offset, offset + 99, 'WITHSCORES')
        if #batch == 0 then break end
        for j = 1, #batch, 2 do
          freed = freed + weight(batch[j])
          if freed >= need then
            wait = tonumber(batch[j + 1]) + win - now
            found = true
            break
          end
        end
        offset = offset + 100
      end
    end
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    local cur = redis.call('ZCARD', key) + extra
    used[i] = cur
    if cur + 1 > limit then
      -- Nobody knows when a stream ends; ask the client to come back in a second.
      wait = 1000
    end
  end
  if wait >= 0 then
    if wait < 1 then wait = 1 end
    if failed == 0 or wait > retry then
      failed = i
      retry = wait
    end
  end
end

if failed > 0 then
  local out = {0, failed, retry}
  for i = 1, n do out[3 + i] = used[i] end
  return out
end

for i = 1, n do
  local kind = kinds[i]
  local win = wins[i]
  local cost = costs[i]
  local key = KEYS[i]
  if kind == 'r' then
    redis.call('ZADD', key, now, id)
    redis.call('PEXPIRE', key, win)
    used[i] = used[i] + 1
  elseif kind == 't' then
    local sumkey = key .. ':sum'
    redis.call('ZADD', key, now, id .. ':' .. cost)
    redis.call('INCRBY', sumkey, cost)
    redis.call('PEXPIRE', key, win)
    redis.call('PEXPIRE', sumkey, win)
    used[i] = used[i] + cost
  else
    redis.call('ZADD', key, now + lease, id)
    redis.call('PEXPIRE', key, lease + 1000)
    used[i] = used[i] + 1
  end
end

local out = {1, 0, 0}
for i = 1, n do out[3 + i] = used[i] end
return out
`;

/**
 * KEYS[i] / ARGV[i] = log key and request id of entry i; ARGV[n+1] packs the entries as
 * "kind,estimated,actual;" (kind "t" | "c"). Token entries still in the window are rewritten with the
 * real count (same score); entries that already left the window stopped counting and are left alone.
 * Concurrency leases are removed.
 */
export const SETTLE_LUA = `
local n = #KEYS
local i = 0
for kind, est, actual in string.gmatch(ARGV[n + 1], '(%a),(%d+),(%d+);') do
  i = i + 1
  local key = KEYS[i]
  local id = ARGV[i]
  if kind == 't' then
    if est ~= actual then
      local member = id .. ':' .. est
      local score = redis.call('ZSCORE', key, member)
      if score then
        local sumkey = key .. ':sum'
        local ttl = redis.call('PTTL', key)
        redis.call('ZREM', key, member)
        redis.call('ZADD', key, score, id .. ':' .. actual)
        redis.call('INCRBY', sumkey, tonumber(actual) - tonumber(est))
        if ttl > 0 then redis.call('PEXPIRE', sumkey, ttl) end
      end
    end
  else
    redis.call('ZREM', key, id)
  end
end
return 1
`;

/** ARGV: until, leaseMs, then one id per key. Only leases still present are extended (XX). */
export const RENEW_LUA = `
local untilMs = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
for i = 1, #KEYS do
  if redis.call('ZADD', KEYS[i], 'XX', 'CH', untilMs, ARGV[i + 2]) > 0 then
    redis.call('PEXPIRE', KEYS[i], lease + 1000)
  end
end
return 1
`;

/** ARGV: now, then per check (KEYS[i]): kind, windowMs. Read-only usage, for GET /rate-limit. */
export const PEEK_LUA = `
local now = tonumber(ARGV[1])
local n = #KEYS
local out = {}
for i = 1, n do
  local kind = ARGV[2 * i]
  local win = tonumber(ARGV[2 * i + 1])
  local key = KEYS[i]
  local extra = 0
  if kind == 'R' or kind == 'T' or kind == 'C' then
    local from = now - win
    if kind == 'C' then from = now end
    for _, m in ipairs(redis.call('ZRANGE', key .. ':l', '(' .. from, '+inf', 'BYSCORE')) do
      extra = extra + (tonumber(string.match(m, ':(%d+)$')) or 0)
    end
    kind = string.lower(kind)
  end
  if kind == 'r' then
    out[i] = redis.call('ZCOUNT', key, '(' .. (now - win), '+inf')
  elseif kind == 't' then
    local s = 0
    for _, m in ipairs(redis.call('ZRANGE', key, '(' .. (now - win), '+inf', 'BYSCORE')) do
      s = s + (tonumber(string.match(m, ':(%d+)$')) or 0)
    end
    out[i] = s
  else
    out[i] = redis.call('ZCOUNT', key, '(' .. now, '+inf')
  end
  out[i] = out[i] + extra
end
return out
`;

/**
 * Settles one lease per key and takes the next (src/ratelimit/leases.ts), for many keys in one call.
 * ARGV: now, leaseMs, spec "kind,limit,win,grant,settle,base,ask;" per key, then one old member
 * base per key ('' = none), then one new member base per key. The old lease (weight `grant`) is
 * rewritten to what it really covered (`settle`; a concurrency block is removed instead); the new
 * one gets `base` (units already taken: a block's open requests, a lease's uncounted carry) plus up
 * to `ask` more, as far as the limit has room after everybody else's entries and leases.
 * Returns per key: granted units, units taken by everybody else, and the wait (ms) until room
 * frees when less than asked was granted (0 otherwise).
 */
export const LEASE_LUA = `${HELPERS}
local now = tonumber(ARGV[1])
local leaseMs = tonumber(ARGV[2])
local n = #KEYS
local out = {}
local i = 0
local function oldest(k)
  local e = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
  if e[2] then return tonumber(e[2]) end
  return nil
end
for kind, limit, win, grant, settle, base, ask in string.gmatch(ARGV[3], '(%a),(%d+),(%d+),(%d+),(%d+),(%d+),(%d+);') do
  i = i + 1
  limit = tonumber(limit)
  win = tonumber(win)
  grant = tonumber(grant)
  settle = tonumber(settle)
  base = tonumber(base)
  ask = tonumber(ask)
  local key = KEYS[i]
  local lkey = key .. ':l'
  local lsum = lkey .. ':sum'
  local old = ARGV[3 + i]
  if old ~= '' then
    local m = old .. ':' .. grant
    local score = redis.call('ZSCORE', lkey, m)
    if score then
      redis.call('ZREM', lkey, m)
      local keep = 0
      if kind ~= 'c' and settle > 0 then
        keep = settle
        redis.call('ZADD', lkey, score, old .. ':' .. settle)
      end
      redis.call('INCRBY', lsum, keep - grant)
    end
  end
  local cutoff = now - win
  if kind == 'c' then cutoff = now end
  local others
  if kind == 't' then
    others = trim_tokens(key, key .. ':sum', cutoff)
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', cutoff)
    others = redis.call('ZCARD', key)
  end
  others = others + trim_tokens(lkey, lsum, cutoff)
  local got = base + ask
  local room = limit - others
  if got > room then got = room end
  if got < base then got = base end
  local wait = 0
  if got < base + ask then
    if kind == 'c' then
      wait = 1000
    else
      wait = win
      local a = oldest(key)
      local b = oldest(lkey)
      if b and (not a or b < a) then a = b end
      if a then wait = a + win - now end
      if wait < 1 then wait = 1 end
    end
  end
  if got > 0 then
    local score = now
    local ttl = win
    if kind == 'c' then
      score = now + leaseMs
      ttl = leaseMs + 1000
    end
    redis.call('ZADD', lkey, score, ARGV[3 + n + i] .. ':' .. got)
    redis.call('INCRBY', lsum, got)
    redis.call('PEXPIRE', lkey, ttl)
    redis.call('PEXPIRE', lsum, ttl)
  end
  out[3 * i - 2] = got
  out[3 * i - 1] = others
  out[3 * i] = wait
end
return out
`;
