/**
 * The shared gate's Lua scripts (gate/lease-store.ts runs them). Keys, all in one hash slot:
 * KEYS[1] holders (ZSET lease id → expiry), KEYS[2] queue (ZSET ticket → arrival number),
 * KEYS[3] tickets (ZSET ticket → expiry), KEYS[4] the arrival counter. A ticket becomes its
 * lease once admitted, under the same id. Every time is Redis's own (TIME), never an
 * instance's clock; every key expires after three TTLs without use.
 */

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const KEEP = `
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ttl * 3) end`;

/**
 * ARGV: limit, ttl, room, channel, known, then this instance's tickets in local arrival
 * order, the first `known` of them sent before. Drops expired leases and the tickets of
 * instances that stopped renewing them, queues new tickets, and admits those of the given
 * tickets ranked below the free slots, so the fleet is served in arrival order. A new
 * ticket not admitted waits only while `room` lasts (the local queue bound).
 * Returns { admitted, full }. When expiry freed slots that others' tickets may take, it
 * publishes: nobody else announced them.
 */
export const ACQUIRE = `${NOW}
local limit, ttl, room, channel, known = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local expiry = now + ttl
local freed = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, id in ipairs(dead) do redis.call('ZREM', KEYS[2], id) end
if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
local admitted, full, waiting, new = {}, {}, {}, {}
for i = 6, #ARGV do
  local id = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], id) then
    -- Admitted by a call whose answer was lost: the lease is this caller's.
    redis.call('ZADD', KEYS[1], expiry, id)
    admitted[#admitted + 1] = id
  else
    if not redis.call('ZSCORE', KEYS[2], id) then redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), id) end
    redis.call('ZADD', KEYS[3], expiry, id)
    waiting[#waiting + 1] = id
    new[#waiting] = i > 5 + known
  end
end
local free = limit - redis.call('ZCARD', KEYS[1])
local ranks = {}
for i, id in ipairs(waiting) do ranks[i] = redis.call('ZRANK', KEYS[2], id) end
local taken = 0
for i, id in ipairs(waiting) do
  if ranks[i] < free then
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    redis.call('ZADD', KEYS[1], expiry, id)
    admitted[#admitted + 1] = id
    taken = taken + 1
  elseif new[i] then
    if room > 0 then
      room = room - 1
    else
      redis.call('ZREM', KEYS[2], id)
      redis.call('ZREM', KEYS[3], id)
      full[#full + 1] = id
    end
  end
end
if freed + #dead > 0 and free - taken > 0 and redis.call('ZCARD', KEYS[2]) > 0 then redis.call('PUBLISH', channel, 'expired') end
${KEEP}
return { admitted, full }`;

/**
 * ARGV: limit, channel, ids. Gives back leases and withdraws tickets; when that lets a
 * waiting ticket in, publishes so its instance asks again. Returns the leases freed.
 */
export const RELEASE = `
local limit, channel = tonumber(ARGV[1]), ARGV[2]
local freed, withdrawn = 0, 0
for i = 3, #ARGV do
  freed = freed + redis.call('ZREM', KEYS[1], ARGV[i])
  withdrawn = withdrawn + redis.call('ZREM', KEYS[2], ARGV[i])
  redis.call('ZREM', KEYS[3], ARGV[i])
end
if freed + withdrawn > 0 and redis.call('ZCARD', KEYS[2]) > 0 and redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('PUBLISH', channel, 'released')
end
return freed`;

/**
 * ARGV: ttl, ids. Extends the leases of transfers still running. A lease that has expired
 * (a pause longer than the TTL) or was never taken (admitted while Redis was down) is taken
 * again, so the fleet counts every running transfer; those ids are returned.
 */
export const RENEW = `${NOW}
local ttl = tonumber(ARGV[1])
local expiry = now + ttl
local restored = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local score = redis.call('ZSCORE', KEYS[1], id)
  if not score or tonumber(score) <= now then restored[#restored + 1] = id end
  redis.call('ZADD', KEYS[1], expiry, id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
end
${KEEP}
return restored`;
