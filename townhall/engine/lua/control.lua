-- Append the host's events (decided by the forum model) if the control state is still the one
-- they were decided on; store what they change, append each to the log, publish them.
-- KEYS: seq, log, control, poll_status, results, pinned, counted_posts, published, then, event
--   by event,
--   the keys each
--   names: post_state, post_edited: posts:{board}; posts_merged: posts:{board},
--   upvoters:{source}, upvoters:{target}; posts_purged: posts:{board}, post_ops:{board},
--   upvoters:{post} for each post purged; poll_options: options:{poll}, counts:{poll};
--   code_revoked: codes_revoked, code_phones, phone_codes; item_added: options:{item};
--   option_added: options:{poll}; wording: ballots:{item}; live_vote: counts:{poll}, tallied
-- ARGV: publish (SPUBLISH or PUBLISH), channel, expected control version, self_agreement ('1'
--   if the programme lets a participant agree with their own post, else '0'), packed record...
-- With no records, only checks the version: a no-op or a refusal decided on a stale replica
-- must be decided again too.
-- Returns {'stale', version} | {'voted'} | {'ok', prev, packed record...}: prev is the seq of the
-- last event published before these (see publish() below)
-- ('voted': an option's label was to change, but the poll has a ballot, cast on some worker
-- since the replica it was decided on heard.)
-- Records the model would never decide (an unknown type, keys that do not match, a post that is
-- not there or may not be purged) get an error reply, a code and its data, and change nothing.
local version = tonumber(redis.call('HGET', KEYS[3], 'version') or '0')
if version ~= tonumber(ARGV[3]) then
  return {'stale', version}
end
if #ARGV == 4 then
  return {'ok'}  -- nothing to store: the caller only asked whether its view is current
end
-- Each known event type, and how many of the extra keys it names (posts_purged: see below).
local known = {
  item = 0, poll_opened = 0, poll_closed = 0, results = 0,
  timer_started = 0, timer_paused = 0, timer_reset = 0,
  post_state = 1, post_edited = 1, post_pinned = 0, posts_merged = 3, posts_purged = 2,
  poll_options = 2,
  live_vote = 2, committee_scored = 0, scoring_locked = 0, selection_published = 0,
  server_started = 0, shift = 0, screen_blanked = 0, code_revoked = 3,
  item_added = 1, option_added = 1, wording = 1, forum_purged = 0,
}
-- Everything is checked before any write: a script's writes are not rolled back on error.
local events, keys = {}, {}
local next_key = 9
for i = 5, #ARGV do
  local event = cmsgpack.unpack(ARGV[i])
  local wanted = known[event.t]
  if wanted == nil then
    return redis.error_reply('unknown_event ' .. tostring(event.t))
  end
  if event.t == 'posts_purged' then
    wanted = wanted + #event.posts
  end
  local named = {}
  for _ = 1, wanted do
    named[#named + 1] = KEYS[next_key]
    next_key = next_key + 1
  end
  if next_key - 1 > #KEYS then
    return redis.error_reply('missing_keys ' .. event.t)
  end
  local posts = {}
  if event.t == 'post_state' or event.t == 'post_edited' then
    posts = {event.post}
  elseif event.t == 'posts_merged' then
    posts = {event.source, event.target}
  end
  for _, post in ipairs(posts) do
    if redis.call('HEXISTS', named[1], post) == 0 then
      return redis.error_reply('no_post ' .. tostring(post) .. ' ' .. named[1])
    end
  end
  if event.t == 'posts_purged' then
    -- Only what the model purges: a post that takes a place under the cap never goes.
    for _, post in ipairs(event.posts) do
      local packed = redis.call('HGET', named[1], post)
      if not packed then
        return redis.error_reply('no_post ' .. tostring(post) .. ' ' .. named[1])
      end
      local state = cmsgpack.unpack(packed).s
      if state ~= 'hidden' and state ~= 'merged' then
        return redis.error_reply('not_purgeable ' .. tostring(post) .. ' ' .. tostring(state))
      end
    end
  end
  if event.t == 'wording' and event.field == 'label' and redis.call('HLEN', named[1]) > 0 then
    return {'voted'}
  end
  events[#events + 1] = event
  keys[#keys + 1] = named
end
if next_key - 1 ~= #KEYS then
  return redis.error_reply('extra_keys')
end

local function read_post(key, id)
  return cmsgpack.unpack(redis.call('HGET', key, id))
end

local function counted(state)
  return state == 'pending' or state == 'visible' or state == 'answered'
end

local function recount(board, from, to)
  -- Hiding frees a place under the board's cap; showing takes one. A board whose count is not
  -- kept yet is counted whole by post.lua when it is next needed.
  local change = (counted(to) and 1 or 0) - (counted(from) and 1 or 0)
  if change ~= 0 and redis.call('HEXISTS', KEYS[7], board) == 1 then
    redis.call('HINCRBY', KEYS[7], board, change)
  end
end

local function unpin(board, id)
  -- A post no longer shown as unanswered is no longer being answered.
  if tonumber(redis.call('HGET', KEYS[6], board) or '0') == id then
    redis.call('HSET', KEYS[6], board, 0)
  end
end

local out = {'ok'}
for i, e in ipairs(events) do
  local named = keys[i]
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
  elseif e.t == 'post_state' then
    local post = read_post(named[1], e.post)
    recount(post.b, post.s, e.state)
    post.s = e.state
    redis.call('HSET', named[1], e.post, cmsgpack.pack(post))
    if e.state ~= 'visible' then
      unpin(post.b, e.post)
    end
  elseif e.t == 'post_edited' then
    local post = read_post(named[1], e.post)
    if post.o == nil or post.o == '' then
      post.o = post.x  -- the text as posted stays on record
    end
    post.x = e.text
    redis.call('HSET', named[1], e.post, cmsgpack.pack(post))
  elseif e.t == 'post_pinned' then
    redis.call('HSET', KEYS[6], e.board, e.post)
  elseif e.t == 'posts_merged' then
    -- The target's upvoters become the union of both sets: nobody is counted twice, and the
    -- target's author joins only where the programme lets one agree with one's own post.
    local source = read_post(named[1], e.source)
    local author = read_post(named[1], e.target).a
    local agreed = redis.call('SISMEMBER', named[3], author) == 1
    recount(source.b, source.s, 'merged')
    source.s = 'merged'
    source.m = e.target
    redis.call('HSET', named[1], e.source, cmsgpack.pack(source))
    redis.call('SUNIONSTORE', named[3], named[3], named[2])
    if ARGV[4] ~= '1' and not agreed then
      redis.call('SREM', named[3], author)
    end
    redis.call('DEL', named[2])
    unpin(source.b, e.source)
  elseif e.t == 'posts_purged' then
    -- Gone from the board, so its stored count (the hash's length) falls; hidden and merged
    -- posts never counted under the cap. Each author's posting times stay in post_ops: a purge
    -- frees the board's room, not the participant's own.
    local gone, authors = {}, {}
    for j, id in ipairs(e.posts) do
      local post = read_post(named[1], id)
      redis.call('HDEL', named[1], id)
      redis.call('DEL', named[2 + j])
      gone[tonumber(id)] = true
      authors[post.a] = true
    end
    for author in pairs(authors) do
      local packed = redis.call('HGET', named[2], author)
      if packed then
        local mine = cmsgpack.unpack(packed)
        if mine.p ~= nil then
          local kept = {}
          for _, id in ipairs(mine.p) do
            if not gone[tonumber(id)] then
              kept[#kept + 1] = id
            end
          end
          mine.p = kept
          redis.call('HSET', named[2], author, cmsgpack.pack(mine))
        end
      end
    end
  elseif e.t == 'live_vote' then
    -- The selection poll's result as it closed; a later recording replaces it. Its counts are
    -- the stored ones, final now that the poll is closed here: the replica the close was
    -- decided on takes the ballots as a tally once a tick, so it may not hold the last ones.
    for _, pair in ipairs(e.counts) do
      pair[2] = tonumber(redis.call('HGET', named[1], pair[1]) or '0')
    end
    e.version = math.max(e.version, tonumber(redis.call('HGET', named[2], e.poll) or '0'))
    redis.call('HSET', KEYS[3], 'live_vote', cmsgpack.pack(e))
  -- committee_scored, scoring_locked, selection_published, server_started, shift and
  -- screen_blanked change nothing the scripts check: the model decided them on a replica at this control version, and
  -- the log keeps them.
  elseif e.t == 'code_revoked' then
    -- The code can't be redeemed again, and the phone holding it holds nothing now.
    redis.call('SADD', named[1], e.voter)
    local phone = redis.call('HGET', named[2], e.voter)
    if phone then
      redis.call('HDEL', named[3], phone)
      redis.call('HDEL', named[2], e.voter)
    end
  elseif e.t == 'item_added' then
    -- A poll added on the day is votable on every worker at once: vote.lua checks its options
    -- here. The item on screen keeps its place if the new one goes before it.
    if #e.options > 0 then
      redis.call('DEL', named[1])
      for _, option in ipairs(e.options) do
        redis.call('SADD', named[1], option[1])
      end
    end
    local current = redis.call('HGET', KEYS[3], 'current')
    if current and tonumber(current) >= e.index then
      redis.call('HINCRBY', KEYS[3], 'current', 1)
    end
  elseif e.t == 'option_added' then
    -- The poll has not opened and has no ballots (the model checked); its options were seeded
    -- at start or when it was added, so the set is there to add to.
    redis.call('SADD', named[1], e.option)
  -- wording changes nothing the scripts keep: the log and each replica hold it.
  elseif e.t == 'poll_options' then
    -- New options, counted from nothing (the poll has no ballots yet: the model checked).
    redis.call('DEL', named[1], named[2])
    for _, option in ipairs(e.options) do
      redis.call('SADD', named[1], option[1])
    end
  end
  local record = cmsgpack.pack(e)
  redis.call('XADD', KEYS[2], seq .. '-0', 'e', record)
  out[#out + 1] = record
end
-- Only host events move the version: ballots, posts and upvotes never reach this script.
redis.call('HSET', KEYS[3], 'version', events[#events].seq)
-- Every event but a ballot is published, after the seq of the last one published before it,
-- so a worker that missed a message knows (it fetches the log), and one that did not knows
-- that everything between the two is ballots, which it takes as tallies.
local prev = tonumber(redis.call('GET', KEYS[8]) or '0')
redis.call('SET', KEYS[8], events[#events].seq)
redis.call(ARGV[1], ARGV[2], cmsgpack.pack(prev) .. table.concat(out, '', 2))
table.insert(out, 2, prev)
return out
