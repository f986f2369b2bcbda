-- Record the agenda's shape if the store has none; if the stored shape is this agenda's, seed
-- each poll's option ids from the programme where none are stored (a promotion replaces them).
-- KEYS: shape, options:{poll}...
-- ARGV: shape, then for each options key: how many option ids, then the ids
-- Returns the stored shape.
redis.call('SET', KEYS[1], ARGV[1], 'NX')
local stored = redis.call('GET', KEYS[1])
if stored ~= ARGV[1] then
  return stored  -- another agenda's store: the worker refuses it, and writes nothing here
end
local at = 2
for i = 2, #KEYS do
  local n = tonumber(ARGV[at])
  if n > 0 and redis.call('EXISTS', KEYS[i]) == 0 then
    redis.call('SADD', KEYS[i], unpack(ARGV, at + 1, at + n))
  end
  at = at + n + 1
end
return stored
