"""The Lua scripts of the Redis layer: each send, group_send or count update is one round trip.

Keys (P = CONFIG prefix):

- ``P:c:<channel>``: list of items of a normal channel;
- ``P:c:<process>!``: list of items of every process-local channel ``<process>!<id>``;
- ``P:n:<process>!``: hash ``<process>!<id>`` -> items sent and not yet received, so capacity is
  per channel even though a process's channels share one list;
- ``P:g:<group>``: sorted set of member channels, scored by the time they joined.

Items are ``<expires_at_ms>\\n<channel or empty>\\n<payload>`` (see codec.py).
"""

from __future__ import annotations

# push(channel, capacity) -> 1 when stored, 0 when the channel is full.
# ARGV[1..6]: channel key prefix, count key prefix, payload, now (ms), expires at (ms), expiry (s).
_PUSH_FUNCTION = """
local chan_prefix, count_prefix, payload = ARGV[1], ARGV[2], ARGV[3]
local now_ms, expires_ms, expiry_s = tonumber(ARGV[4]), ARGV[5], ARGV[6]
-- Expired items at the head of a list do not count: pop them (and uncount them in `counts`,
-- the count hash of a process list; nil for a normal channel).
local function drop_expired_head(key, counts)
  while true do
    local head = redis.call("LINDEX", key, 0)
    if not head then
      return
    end
    local stop = string.find(head, "\\n", 1, true)
    if (not stop) or tonumber(string.sub(head, 1, stop - 1)) > now_ms then
      return
    end
    redis.call("LPOP", key)
    if counts then
      local name = string.sub(head, stop + 1, string.find(head, "\\n", stop + 1, true) - 1)
      if redis.call("HINCRBY", counts, name, -1) <= 0 then
        redis.call("HDEL", counts, name)
      end
    end
  end
end
local function push(channel, capacity)
  local bang = string.find(channel, "!", 1, true)
  if bang then
    local owner = string.sub(channel, 1, bang)
    local key, counts = chan_prefix .. owner, count_prefix .. owner
    if tonumber(redis.call("HGET", counts, channel) or "0") >= capacity then
      drop_expired_head(key, counts)
      if tonumber(redis.call("HGET", counts, channel) or "0") >= capacity then
        return 0
      end
    end
    redis.call("HINCRBY", counts, channel, 1)
    redis.call("RPUSH", key, expires_ms .. "\\n" .. channel .. "\\n" .. payload)
    redis.call("EXPIRE", key, expiry_s)
    redis.call("EXPIRE", counts, expiry_s)
    return 1
  end
  local key = chan_prefix .. channel
  if redis.call("LLEN", key) >= capacity then
    drop_expired_head(key, nil)
    if redis.call("LLEN", key) >= capacity then
      return 0
    end
  end
  redis.call("RPUSH", key, expires_ms .. "\\n\\n" .. payload)
  redis.call("EXPIRE", key, expiry_s)
  return 1
end
"""

# received(key, first, last): ARGV[first..last] are (channel, n) pairs whose n items were
# received (or expired) in their process; subtract them, forgetting channels at zero.
_RECEIVED_FUNCTION = """
local function received(key, first, last)
  for i = first, last, 2 do
    if redis.call("HINCRBY", key, ARGV[i], -tonumber(ARGV[i + 1])) <= 0 then
      redis.call("HDEL", key, ARGV[i])
    end
  end
end
"""

#: ARGV[7] = D, then D (channel, n) received pairs for the count hash KEYS[1] (a send carries
#: the receiving process's counts along: no extra round trip), then (channel, capacity) pairs
#: to push. Returns how many were full (not stored).
PUSH = (
    _PUSH_FUNCTION
    + _RECEIVED_FUNCTION
    + """
local first = 8 + 2 * tonumber(ARGV[7])
if first > 8 then
  received(KEYS[1], 8, first - 1)
end
local full = 0
for i = first, #ARGV, 2 do
  if push(ARGV[i], tonumber(ARGV[i + 1])) == 0 then
    full = full + 1
  end
end
return full
"""
)

#: KEYS[1]: group. ARGV[7]: members joined at or before this time (s) expired; ARGV[8]: capacity.
#: Returns {members, full}. One round trip for a whole group on one server.
GROUP_SEND = (
    _PUSH_FUNCTION
    + """
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[7])
local members = redis.call("ZRANGE", KEYS[1], 0, -1)
local capacity = tonumber(ARGV[8])
local full = 0
for _, channel in ipairs(members) do
  if push(channel, capacity) == 0 then
    full = full + 1
  end
end
return {#members, full}
"""
)

#: KEYS[1]: group. ARGV[1]: expiry cutoff (s). Drops expired members, returns the others.
GROUP_MEMBERS = """
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
return redis.call("ZRANGE", KEYS[1], 0, -1)
"""

#: KEYS[1]: a process's count hash. ARGV: channel, n pairs: n items were received (or expired).
RECEIVED = (
    _RECEIVED_FUNCTION
    + """
received(KEYS[1], 1, #ARGV)
return 0
"""
)
