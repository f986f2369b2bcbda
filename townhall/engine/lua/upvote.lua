-- Set or take back one participant's upvote of a post, atomically with its log entry.
-- KEYS: seq, log, posts:{board}, post_ops:{board}, upvoters:{post}, codes_revoked, published
-- ARGV: publish (SPUBLISH or PUBLISH), channel, post, participant, up (1 or 0), op, recent_ops,
--       now_ms
-- Returns {'unknown', post} | {'dup', state, up, upvotes} | {'revoked'} | {'merged', into}
--       | {'not_open'}
--       | {'ok', seq, packed record, state, up, upvotes}
local raw = redis.call('HGET', KEYS[3], ARGV[3])
if not raw then
  return {'unknown', tonumber(ARGV[3])}
end
local post = cmsgpack.unpack(raw)
local id = tonumber(ARGV[3])
local mine = {o = {}, t = {}}
local packed = redis.call('HGET', KEYS[4], ARGV[4])
if packed then
  mine = cmsgpack.unpack(packed)
end
local reused = nil
for i, seen in ipairs(mine.o) do
  if seen[1] == ARGV[6] then
    if tonumber(seen[2]) == id then
      -- A resend: already counted, and a late one must not undo a later change.
      return {'dup', post.s, redis.call('SISMEMBER', KEYS[5], ARGV[4]), redis.call('SCARD', KEYS[5])}
    end
    -- The id acted on another post: this is a new message, checked like one, so it never
    -- reads out the state or count of a post it may not upvote.
    reused = i
    break
  end
end
-- A voter whose code was revoked on another worker, which this one has not heard yet.
if redis.call('SISMEMBER', KEYS[6], ARGV[4]) == 1 then
  return {'revoked'}
end
if post.s == 'merged' then
  return {'merged', post.m}
end
if post.s ~= 'visible' and post.s ~= 'answered' then
  return {'not_open'}
end
local up = ARGV[5] == '1'
if up then
  redis.call('SADD', KEYS[5], ARGV[4])
else
  redis.call('SREM', KEYS[5], ARGV[4])
end
if reused then
  table.remove(mine.o, reused)  -- a reused id now stands for this post, as the newest
end
mine.o[#mine.o + 1] = {ARGV[6], id}
while #mine.o > tonumber(ARGV[7]) do
  table.remove(mine.o, 1)
end
redis.call('HSET', KEYS[4], ARGV[4], cmsgpack.pack(mine))
-- Recorded even when it changes nothing, so its late resend is recognised.
local seq = redis.call('INCR', KEYS[1])
local record = cmsgpack.pack({
  t = 'upvote', seq = seq, post = id, participant = ARGV[4], up = up, op = ARGV[6],
  at = tonumber(ARGV[8])
})
redis.call('XADD', KEYS[2], seq .. '-0', 'e', record)
-- Published after the seq of the last event published before it (control.lua says why).
local prev = tonumber(redis.call('GET', KEYS[7]) or '0')
redis.call('SET', KEYS[7], seq)
local message = cmsgpack.pack(prev) .. record
redis.call(ARGV[1], ARGV[2], message)
return {'ok', seq, message, post.s, up and 1 or 0, redis.call('SCARD', KEYS[5])}
