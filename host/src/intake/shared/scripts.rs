//! The shared queues' Lua scripts: each step one script, so no two replicas
//! ever see a chat half-moved (the module map in `mod.rs` names the keys).

pub(super) const ACCEPT: &str = r"
-- KEYS: seen, q, ready, readyat, lease, chats; ARGV: chat, update_id, body, seen_secs, now_ms
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[6], 'NX', ARGV[5], ARGV[1])
if redis.call('EXISTS', KEYS[5]) == 0 and redis.call('ZADD', KEYS[4], 'NX', ARGV[5], ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[3], ARGV[1])
end
return 1
";

pub(super) const TAKE: &str = r"
-- KEYS: readyat, lease, fence, q; ARGV: chat, lease_ms. Returns {token, head} or false.
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
local head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
if not head then return false end
local token = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[2], token, 'PX', ARGV[2])
return {token, head}
";

pub(super) const DONE: &str = r"
-- KEYS: lease, q, chats; ARGV: token, body, lease_ms, chat. Returns {1, next} / {1} / {0} (lease lost).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0} end
redis.call('ZREM', KEYS[2], ARGV[2])
local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
if head then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {1, head}
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[4])
return {1}
";

pub(super) const RELEASE: &str = r"
-- KEYS: lease, q, ready, readyat; ARGV: token, chat, now_ms. A stopping replica hands the chat on.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('ZCARD', KEYS[2]) > 0 and redis.call('ZADD', KEYS[4], 'NX', ARGV[3], ARGV[2]) == 1 then
  redis.call('RPUSH', KEYS[3], ARGV[2])
end
return 1
";

/// A chat offered longer than a lease ago and still neither taken nor held
/// was popped by a replica that died before leasing it: offered again (a
/// second entry in `ready` is harmless: taking a held or empty chat is a no-op).
pub(super) const SWEEP: &str = r"
-- KEYS: chats, ready, readyat; ARGV: prefix, limit, now_ms, lease_ms. Re-offers chats nobody holds.
local offered = 0
local stale = tonumber(ARGV[3]) - tonumber(ARGV[4])
for _, chat in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)) do
  if redis.call('ZCARD', ARGV[1] .. 'q:' .. chat) == 0 then
    redis.call('ZREM', KEYS[1], chat)
  elseif redis.call('EXISTS', ARGV[1] .. 'lease:' .. chat) == 0 then
    local at = redis.call('ZSCORE', KEYS[3], chat)
    if not at or tonumber(at) < stale then
      redis.call('ZADD', KEYS[3], ARGV[3], chat)
      redis.call('RPUSH', KEYS[2], chat)
      offered = offered + 1
    end
  end
end
return offered
";
