-- Bind a phone to a ballot code's voter, atomically with its log entry. The worker found the
-- voter in the code book; whether the code is revoked, and who holds it, are checked here.
-- KEYS: seq, log, codes_revoked, code_phones, phone_codes, published
-- ARGV: publish (SPUBLISH or PUBLISH), channel, voter, group, phone, now_ms
-- Returns {'revoked'} | {'dup'} | {'ok', seq, packed record}
if redis.call('SISMEMBER', KEYS[3], ARGV[3]) == 1 then
  return {'revoked'}
end
local holder = redis.call('HGET', KEYS[4], ARGV[3])
if holder == ARGV[5] then
  return {'dup'}  -- this phone holds the code already
end
if holder then
  redis.call('HDEL', KEYS[5], holder)  -- the code moves: the phone that held it holds nothing
end
local earlier = redis.call('HGET', KEYS[5], ARGV[5])
if earlier then
  redis.call('HDEL', KEYS[4], earlier)  -- a phone holds one code: the last it redeemed
end
redis.call('HSET', KEYS[4], ARGV[3], ARGV[5])
redis.call('HSET', KEYS[5], ARGV[5], ARGV[3])
local seq = redis.call('INCR', KEYS[1])
local record = cmsgpack.pack({
  t = 'code_redeemed', seq = seq, voter = ARGV[3], group = ARGV[4], participant = ARGV[5],
  at = tonumber(ARGV[6])
})
redis.call('XADD', KEYS[2], seq .. '-0', 'e', record)
-- Published after the seq of the last event published before it (control.lua says why).
local prev = tonumber(redis.call('GET', KEYS[6]) or '0')
redis.call('SET', KEYS[6], seq)
local message = cmsgpack.pack(prev) .. record
redis.call(ARGV[1], ARGV[2], message)
return {'ok', seq, message}
