-- Cast or replace one participant's ballot, atomically with its log entry.
-- KEYS: seq, log, poll_status, ballots:{poll}, counts:{poll}, options:{poll}, codes_revoked,
--       tallied, group_counts:{poll}, published, code_voters
-- ARGV: poll, participant, op, recent_ops, now_ms, group ('' for none), by_group ('1' if the
--       poll keeps its counts by group, else '0'),
--       then each choice and what it adds to its option's count (the model's weight: a
--       ranking's Borda points, else 1): choice, weight, choice, weight...
-- A ballot is not published: workers read each open poll's tally whole once a tick (tally.lua).
-- Returns {'unknown', choice} | {'dup', version, packed choices} | {'revoked'} | {'closed'}
--       | {'ok', seq, packed record, published, tally (as tally.lua returns a poll's)}
if redis.call('EXISTS', KEYS[6]) == 1 then
  -- The worker checked the choices against its replica, which may not have heard yet that the
  -- poll's options were promoted from an idea board: the stored options are the truth. (With no
  -- stored options, as for a moment after Redis came back empty, the programme's, checked by the
  -- worker, apply.)
  for i = 8, #ARGV, 2 do
    if redis.call('SISMEMBER', KEYS[6], ARGV[i]) == 0 then
      return {'unknown', ARGV[i]}
    end
  end
end
local raw = redis.call('HGET', KEYS[4], ARGV[2])
local ballot = nil
if raw then
  ballot = cmsgpack.unpack(raw)
  for _, op in ipairs(ballot.o) do
    if op == ARGV[3] then
      -- A resend of a message already counted, even once the poll has closed.
      return {'dup', ballot.v, cmsgpack.pack(ballot.c)}
    end
  end
end
-- The worker found the voter on its replica, which may not have heard yet that the host
-- revoked the code on another worker: the stored revocations are the truth.
if redis.call('SISMEMBER', KEYS[7], ARGV[2]) == 1 then
  return {'revoked'}
end
if redis.call('HGET', KEYS[3], ARGV[1]) ~= 'open' then
  return {'closed'}
end
local choices, weights = {}, {}
for i = 8, #ARGV, 2 do
  choices[#choices + 1] = ARGV[i]
  weights[#weights + 1] = tonumber(ARGV[i + 1])
end
local by_group = ARGV[7] == '1'
local group = ARGV[6]
local ops = {}
if ballot then
  -- The previous ballot is taken back with the weights it was counted with (a ballot stored
  -- without them counted 1 a choice), in the group it was counted in.
  local was = ballot.g or group
  for i, choice in ipairs(ballot.c) do
    -- (0 - w, not -w: a last place's -0 would be written "-0", which HINCRBY refuses.)
    local w = ballot.w and ballot.w[i] or 1
    redis.call('HINCRBY', KEYS[5], choice, 0 - w)
    if by_group then
      redis.call('HINCRBY', KEYS[9], was .. '\0' .. choice, 0 - w)
    end
  end
  if by_group then
    redis.call('HINCRBY', KEYS[9], was, -1)
  end
  local keep = tonumber(ARGV[4]) - 1
  for i = math.max(1, #ballot.o - keep + 1), #ballot.o do
    ops[#ops + 1] = ballot.o[i]
  end
end
ops[#ops + 1] = ARGV[3]
for i, choice in ipairs(choices) do
  redis.call('HINCRBY', KEYS[5], choice, weights[i])
  if by_group then
    redis.call('HINCRBY', KEYS[9], group .. '\0' .. choice, weights[i])
  end
end
if by_group then
  -- group_counts: `group` -> its voters, `group NUL option` -> the option's count in it.
  redis.call('HINCRBY', KEYS[9], group, 1)
end
local seq = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[4], ARGV[2],
  cmsgpack.pack({c = choices, v = seq, o = ops, w = weights, g = group}))
redis.call('HSET', KEYS[8], ARGV[1], seq)
if group ~= '' then
  redis.call('SADD', KEYS[11], ARGV[2])  -- a voter of a ballot code has used it
end
local record = cmsgpack.pack({
  t = 'ballot', seq = seq, poll = ARGV[1], participant = ARGV[2], choices = choices, op = ARGV[3],
  at = tonumber(ARGV[5]), group = ARGV[6] ~= '' and ARGV[6] or nil
})
redis.call('XADD', KEYS[2], seq .. '-0', 'e', record)
-- The poll's tally with this ballot in, as tally.lua reads it: the worker that took the ballot
-- shows it at once; the others take it on their next tick.
local groups = {}
if by_group then
  groups = redis.call('HGETALL', KEYS[9])
end
return {'ok', seq, record, tonumber(redis.call('GET', KEYS[10]) or '0'),
  {ARGV[1], seq, redis.call('HLEN', KEYS[4]), redis.call('HGETALL', KEYS[5]), groups},
}
