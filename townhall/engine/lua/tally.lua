-- Read polls' tallies whole, as counted at one point of the log: a worker's once-a-tick read.
-- KEYS: seq, published, tallied, code_voters, then for each poll: counts:{poll}, ballots:{poll},
--       group_counts:{poll}
-- ARGV: how many code voters the worker knows of, then for each poll: its id, then '1' if it
--       keeps its counts by group, else '0'
-- Returns {seq, published, code voters, {poll, version, voters, {option, count, ...},
-- {field, n, ...}}, ...}: the log's length, the seq of the last event published (every one but
-- the ballots), every voter of a ballot code who has cast a ballot (none if the worker knows of
-- as many already), and for each poll the seq of its last ballot, how many have a ballot, its
-- counts, and for a poll kept by group its group_counts as stored (`group` -> voters,
-- `group NUL option` -> count).
local code_voters = {}
if redis.call('SCARD', KEYS[4]) ~= tonumber(ARGV[1]) then
  code_voters = redis.call('SMEMBERS', KEYS[4])
end
local out = {
  tonumber(redis.call('GET', KEYS[1]) or '0'),
  tonumber(redis.call('GET', KEYS[2]) or '0'),
  code_voters,
}
for i = 2, #ARGV, 2 do
  local base = 4 + (i - 2) / 2 * 3
  local poll = ARGV[i]
  local groups = {}
  if ARGV[i + 1] == '1' then
    groups = redis.call('HGETALL', KEYS[base + 3])
  end
  out[#out + 1] = {
    poll,
    tonumber(redis.call('HGET', KEYS[3], poll) or '0'),
    redis.call('HLEN', KEYS[base + 2]),
    redis.call('HGETALL', KEYS[base + 1]),
    groups,
  }
end
return out
