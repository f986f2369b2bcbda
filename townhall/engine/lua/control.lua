-- Append the host's events (decided by the forum model) if the control state is still the one
-- they were decided on; store what they change, append each to the log, publish them.
-- KEYS: seq, log, control, poll_status, results
-- ARGV: channel, expected control version, packed record...
-- With no records, only checks the version: a no-op or a refusal decided on a stale replica
-- must be decided again too.
-- Returns {'stale', version} | {'ok', packed record...}
local version = tonumber(redis.call('HGET', KEYS[3], 'version') or '0')
if version ~= tonumber(ARGV[2]) then
  return {'stale', version}
end
if #ARGV == 2 then
  return {'ok'}  -- nothing to store: the caller only asked whether its view is current
end
local known = {
  item = true, poll_opened = true, poll_closed = true, results = true,
  timer_started = true, timer_paused = true, timer_reset = true,
}
local events = {}
for i = 3, #ARGV do
  local event = cmsgpack.unpack(ARGV[i])
  if not known[event.t] then
    -- Checked before any write: a script's writes are not rolled back on error.
    return redis.error_reply('unknown control event ' .. tostring(event.t))
  end
  events[#events + 1] = event
end
local out = {'ok'}
for _, e in ipairs(events) do
  local seq = redis.call('INCR', KEYS[1])
  e.seq = seq
  if e.t == 'item' then
    redis.call('HSET', KEYS[3], 'current', e.index, 'timer_duration', e.timer_ms,
      'timer_remaining', e.timer_ms, 'timer_running', 0, 'timer_started', 0)
  elseif e.t == 'poll_opened' then
    redis.call('HSET', KEYS[4], e.poll, 'open')
  elseif e.t == 'poll_closed' then
    redis.call('HSET', KEYS[4], e.poll, 'closed')
  elseif e.t == 'results' then
    redis.call('HSET', KEYS[5], e.poll, e.visible and 1 or 0)
  elseif e.t == 'timer_started' then
    redis.call('HSET', KEYS[3], 'timer_running', 1, 'timer_started', e.at_ms)
  elseif e.t == 'timer_paused' then
    redis.call('HSET', KEYS[3], 'timer_running', 0, 'timer_remaining', e.remaining_ms)
  elseif e.t == 'timer_reset' then
    redis.call('HSET', KEYS[3], 'timer_duration', e.duration_ms,
      'timer_remaining', e.duration_ms, 'timer_running', 0)
  end
  local record = cmsgpack.pack(e)
  redis.call('XADD', KEYS[2], seq .. '-0', 'e', record)
  out[#out + 1] = record
end
redis.call('HSET', KEYS[3], 'version', events[#events].seq)
redis.call('PUBLISH', ARGV[1], table.concat(out, '', 2))
return out
