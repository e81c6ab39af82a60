"""The Lua scripts of the Redis layer: each send, group_send or count update is one round trip.

Keys (P = CONFIG prefix); the name in braces is a Redis Cluster hash tag, so a process's list
and its count hash live in one slot and every script touches one slot (see cluster.py):

- ``P:c:{<channel>}``: list of items of a normal channel;
- ``P:c:{<process>!}``: list of items of every process-local channel ``<process>!<id>``;
- ``P:n:{<process>!}``: hash ``<process>!<id>`` -> items sent and not yet received, so capacity is
  per channel even though a process's channels share one list;
- ``P:g:{<group>}``: sorted set of member channels, scored by the time they joined.

Items are ``<expires_at_ms>\\n<channels>\\n<payload>`` (see codec.py): ``<channels>`` is empty for a
normal channel's list, else the comma-separated process-local channels the message is for.
"""

from __future__ import annotations

# push(channel, capacity) -> 1 when queued, 0 when the channel is full; then
# store_pushes() writes what was queued: one RPUSH per list (not per member) and one EXPIRE
# per key, which is what makes a large group_send cheap inside Redis.
# ARGV[1..6]: channel key prefix, count key prefix, payload, now (ms), expires at (ms), expiry (s).
_PUSH_FUNCTION = """
local chan_prefix, count_prefix, payload = ARGV[1], ARGV[2], ARGV[3]
local now_ms, expiry_s = tonumber(ARGV[4]), ARGV[6]
local head = ARGV[5] .. "\\n"
-- queued[key]: items for a normal channel's list; addressed[key]: the channels of one
-- process that get this message, written as ONE item "<expires> NL <ch1>,<ch2>,... NL <payload>"
-- (the process fans it out to its channels' buffers).
local queued, addressed, order, counted, owners = {}, {}, {}, {}, {}
-- Expired items at the head of a list do not count: pop them (and uncount them in `counts`,
-- the count hash of a process list; nil for a normal channel).
local function drop_expired_head(key, counts)
  while true do
    local first = redis.call("LINDEX", key, 0)
    if not first then
      return
    end
    local stop = string.find(first, "\\n", 1, true)
    if (not stop) or tonumber(string.sub(first, 1, stop - 1)) > now_ms then
      return
    end
    redis.call("LPOP", key)
    if counts then
      local names = string.sub(first, stop + 1, string.find(first, "\\n", stop + 1, true) - 1)
      for name in string.gmatch(names, "[^,]+") do
        if redis.call("HINCRBY", counts, name, -1) <= 0 then
          redis.call("HDEL", counts, name)
        end
      end
    end
  end
end
local function queue(key, item, into)
  local items = into[key]
  if not items then
    items = {}
    into[key] = items
    order[#order + 1] = key
  end
  items[#items + 1] = item
end
local function push(channel, capacity)
  local bang = string.find(channel, "!", 1, true)
  if bang then
    local owner = string.sub(channel, 1, bang)
    local keys = owners[owner]
    if not keys then
      keys = {chan_prefix .. "{" .. owner .. "}", count_prefix .. "{" .. owner .. "}"}
      owners[owner] = keys
    end
    local key, counts = keys[1], keys[2]
    if redis.call("HINCRBY", counts, channel, 1) > capacity then
      drop_expired_head(key, counts)
      if tonumber(redis.call("HGET", counts, channel)) > capacity then
        redis.call("HINCRBY", counts, channel, -1)
        return 0
      end
    end
    counted[counts] = true
    queue(key, channel, addressed)
    return 1
  end
  local key = chan_prefix .. "{" .. channel .. "}"
  local waiting = queued[key] and #queued[key] or 0
  if redis.call("LLEN", key) + waiting >= capacity then
    drop_expired_head(key, nil)
    if redis.call("LLEN", key) + waiting >= capacity then
      return 0
    end
  end
  queue(key, head .. "\\n" .. payload, queued)
  return 1
end
local function store_pushes()
  for _, key in ipairs(order) do
    local names = addressed[key]
    if names then
      redis.call("RPUSH", key, head .. table.concat(names, ",") .. "\\n" .. payload)
    else
      local items = queued[key]
      for i = 1, #items, 1000 do
        redis.call("RPUSH", key, unpack(items, i, math.min(i + 999, #items)))
      end
    end
    redis.call("EXPIRE", key, expiry_s)
  end
  for key in pairs(counted) do
    redis.call("EXPIRE", key, expiry_s)
  end
end
"""

# received(key, counts): `counts` is "<n> <channel>\n..." (one argument, cheap to send for
# thousands of channels): n items of each channel were received (or expired) in their
# process; subtract them, forgetting channels at zero.
_RECEIVED_FUNCTION = """
local function received(key, counts)
  for n, channel in string.gmatch(counts, "(%d+) ([^\\n]+)") do
    if redis.call("HINCRBY", key, channel, -tonumber(n)) <= 0 then
      redis.call("HDEL", key, channel)
    end
  end
end
"""

#: ARGV[7]: received counts for the count hash KEYS[1] ("" for none: a send carries the
#: receiving process's counts along, no extra round trip), then (channel, capacity) pairs to
#: push. Returns how many were full (not stored).
PUSH = (
    _PUSH_FUNCTION
    + _RECEIVED_FUNCTION
    + """
if ARGV[7] ~= "" then
  received(KEYS[1], ARGV[7])
end
local full = 0
for i = 8, #ARGV, 2 do
  if push(ARGV[i], tonumber(ARGV[i + 1])) == 0 then
    full = full + 1
  end
end
store_pushes()
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
store_pushes()
return {#members, full}
"""
)

#: KEYS[1]: group. ARGV[1]: expiry cutoff (s). Drops expired members, returns the others.
GROUP_MEMBERS = """
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
return redis.call("ZRANGE", KEYS[1], 0, -1)
"""

#: KEYS[1]: a process's count hash. ARGV[1]: received counts, as for PUSH.
RECEIVED = (
    _RECEIVED_FUNCTION
    + """
received(KEYS[1], ARGV[1])
return 0
"""
)
