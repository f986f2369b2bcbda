-- Make one participant's post on a board, atomically with its log entry; recognise a resend.
-- KEYS: seq, log, posts:{board}, post_ops:{board}, counted_posts, codes_revoked, published
-- ARGV: publish (SPUBLISH or PUBLISH), channel, board, participant, op, recent_ops, now_ms,
--       window_ms, per_window, per_board,
--       pending_per_participant, max_counted, max_stored, [state, name, text]
-- Without state, name and text (the worker refused the message as written) only looks for a
-- resend: the model recognises one before it reads the text.
-- Returns {'dup', post, state} | {'code_revoked'} | {'new'} | {'board_full'}
--       | {'board_stored_full'}
--       | {'post_limit', per_board} | {'pending_limit'} | {'post_rate'} | {'ok', seq, packed record}
local raw = redis.call('HGET', KEYS[4], ARGV[4])
local mine = {o = {}, t = {}}
if raw then
  mine = cmsgpack.unpack(raw)
end
local reused = nil
for i, seen in ipairs(mine.o) do
  if seen[1] == ARGV[5] then
    reused = i
    local packed = redis.call('HGET', KEYS[3], seen[2])
    -- A post purged since is gone: the id is a new message, as the model takes it.
    local post = packed and cmsgpack.unpack(packed)
    if post and post.a == ARGV[4] then
      -- A resend of a post this participant made: ack it as it stands now, whatever the limits
      -- say. An id that last acted on an upvote of another's post is a new message instead,
      -- so that post's state is never read out.
      return {'dup', seen[2], post.s}
    end
    break
  end
end
-- A voter whose code was revoked on another worker, which this one has not heard yet.
if redis.call('SISMEMBER', KEYS[6], ARGV[4]) == 1 then
  return {'code_revoked'}
end
if #ARGV < 16 then
  return {'new'}
end
local now = tonumber(ARGV[7])

-- The model's rules (townhall/model/board.py), in its order: the board's room first.
local function counted(state)
  return state == 'pending' or state == 'visible' or state == 'answered'
end
if redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[13]) then
  return {'board_stored_full'}
end
local taken = redis.call('HGET', KEYS[5], ARGV[3])
if not taken then
  -- A board stored before the count was kept: counted once, then kept by this script and
  -- control.lua.
  taken = 0
  for _, packed in ipairs(redis.call('HVALS', KEYS[3])) do
    if counted(cmsgpack.unpack(packed).s) then
      taken = taken + 1
    end
  end
  redis.call('HSET', KEYS[5], ARGV[3], taken)
end
if tonumber(taken) >= tonumber(ARGV[12]) then
  return {'board_full'}
end

if #mine.t >= tonumber(ARGV[10]) then
  return {'post_limit', tonumber(ARGV[10])}
end
if mine.p == nil then
  -- A record written before the participant's post ids were kept: found once on the board.
  mine.p = {}
  if #mine.t > 0 then
    local all = redis.call('HGETALL', KEYS[3])
    for i = 1, #all, 2 do
      if cmsgpack.unpack(all[i + 1]).a == ARGV[4] then
        mine.p[#mine.p + 1] = tonumber(all[i])
      end
    end
    table.sort(mine.p)
  end
end
local waiting = 0
for _, id in ipairs(mine.p) do
  local packed = redis.call('HGET', KEYS[3], id)
  if packed and cmsgpack.unpack(packed).s == 'pending' then
    waiting = waiting + 1
  end
end
if waiting >= tonumber(ARGV[11]) then
  return {'pending_limit'}
end
local recent = 0
for _, at in ipairs(mine.t) do
  if now - at < tonumber(ARGV[8]) then
    recent = recent + 1
  end
end
if recent >= tonumber(ARGV[9]) then
  return {'post_rate'}
end

local seq = redis.call('INCR', KEYS[1])
local state, name, text = ARGV[14], ARGV[15], ARGV[16]
redis.call('HSET', KEYS[3], seq, cmsgpack.pack({
  b = ARGV[3], a = ARGV[4], n = name, x = text, s = state, t = now, o = '', m = 0
}))
if counted(state) then
  redis.call('HINCRBY', KEYS[5], ARGV[3], 1)
end
if reused then
  table.remove(mine.o, reused)  -- a reused id now stands for this post, as the newest
end
mine.o[#mine.o + 1] = {ARGV[5], seq}
while #mine.o > tonumber(ARGV[6]) do
  table.remove(mine.o, 1)
end
mine.t[#mine.t + 1] = now
mine.p[#mine.p + 1] = seq
redis.call('HSET', KEYS[4], ARGV[4], cmsgpack.pack(mine))
local record = cmsgpack.pack({
  t = 'post_created', seq = seq, board = ARGV[3], participant = ARGV[4], name = name,
  text = text, state = state, op = ARGV[5], at_ms = now, at = now
})
redis.call('XADD', KEYS[2], seq .. '-0', 'e', record)
-- Published after the seq of the last event published before it (control.lua says why).
local prev = tonumber(redis.call('GET', KEYS[7]) or '0')
redis.call('SET', KEYS[7], seq)
local message = cmsgpack.pack(prev) .. record
redis.call(ARGV[1], ARGV[2], message)
return {'ok', seq, message}
