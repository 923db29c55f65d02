"""The store's Lua scripts: what must happen atomically in Redis (keys are the store's to name)."""

# Workers update a job's record concurrently with DELETE; an update must never
# resurrect a deleted record as a fragment, so it only applies to an existing hash.
HSET_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HSET', KEYS[1], unpack(ARGV)) end
return 0
"""

# Checkpoints and stems are written only by the run that owns the job, and not
# at all once it ended (a late batch of a cancelled job must not bring data back).
HSET_IF_OWNER = """
local token = redis.call('HGET', KEYS[1], 'token')
local stage = redis.call('HGET', KEYS[1], 'stage')
if token ~= ARGV[1] or stage == 'finished' or stage == 'failed' or stage == 'cancelled' then return 0 end
redis.call('HSET', KEYS[2], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""

# The same, into several hashes at once (a job's checkpoint and its owner's shared answers),
# each refreshed to the TTL. KEYS: record, target hashes…; ARGV: token, ttl, field/value pairs.
HSET_ALL_IF_OWNER = """
local token = redis.call('HGET', KEYS[1], 'token')
local stage = redis.call('HGET', KEYS[1], 'stage')
if token ~= ARGV[1] or stage == 'finished' or stage == 'failed' or stage == 'cancelled' then return 0 end
for i = 2, #KEYS do
  redis.call('HSET', KEYS[i], unpack(ARGV, 3))
  redis.call('EXPIRE', KEYS[i], ARGV[2])
end
return 1
"""

# Admission of a new job against its owner's quotas, and the job's record, in one step:
# two submissions racing for the last place cannot both get it. Entries of jobs whose
# record has expired are pruned on the way (their TTL ended them, not an event).
# A job of a study (max active -1) was admitted with its study: it is not in the active set.
# KEYS: record, owner's active set, owner's bytes hash, owner's job list, all active, metrics
# ARGV: job id, record key prefix, max active, max bytes, this job's bytes, ttl, now, record fields…
ADMIT = """
local prefix, id = ARGV[2], ARGV[1]
local counted = tonumber(ARGV[3]) >= 0
if counted then
  for _, other in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    if redis.call('EXISTS', prefix .. other) == 0 then redis.call('SREM', KEYS[2], other) end
  end
  local active = redis.call('SCARD', KEYS[2])
  if tonumber(ARGV[3]) > 0 and active >= tonumber(ARGV[3]) then return {1, active} end
end
local kept, entries = 0, redis.call('HGETALL', KEYS[3])
for i = 1, #entries, 2 do
  if redis.call('EXISTS', prefix .. entries[i]) == 0 then redis.call('HDEL', KEYS[3], entries[i])
  else kept = kept + tonumber(entries[i + 1]) end
end
if tonumber(ARGV[4]) > 0 and kept + tonumber(ARGV[5]) > tonumber(ARGV[4]) then return {2, kept} end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
if counted then redis.call('SADD', KEYS[2], id) end
redis.call('HSET', KEYS[3], id, ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[7], id)
for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ARGV[6]) end
redis.call('SADD', KEYS[5], id)
redis.call('HINCRBY', KEYS[6], 'jobs:submitted', 1)
return {0, 0}
"""

# Admission of a new study against its owner's quota of active studies, and its record.
# A study is active while one of its jobs exists and has not ended, or while its jobs are
# being created (`creating`, for a grace: an API that died creating them holds no place);
# ended ones are pruned on the way. Returns -1 when admitted, else the active count.
# KEYS: study record, owner's active studies, owner's study list
# ARGV: study record prefix, job record prefix, max active, ttl, now, grace, study id, record fields…
ADMIT_STUDY = """
local studies, jobs, now = ARGV[1], ARGV[2], tonumber(ARGV[5])
local ended = {finished = true, failed = true, cancelled = true}
local function active(id)
  local f = redis.call('HMGET', studies .. id, 'owner', 'status', 'creating', 'explanations', 'comparisons')
  if not f[1] or f[2] then return false end
  if f[3] and now - tonumber(f[3]) < tonumber(ARGV[6]) then return true end
  for i = 4, 5 do
    for _, job in ipairs(cjson.decode(f[i] or '[]')) do
      local stage = redis.call('HGET', jobs .. job, 'stage')
      if stage and not ended[stage] then return true end
    end
  end
  return false
end
for _, other in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if not active(other) then redis.call('SREM', KEYS[2], other) end
end
local count = redis.call('SCARD', KEYS[2])
if tonumber(ARGV[3]) > 0 and count >= tonumber(ARGV[3]) then return count end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('SADD', KEYS[2], ARGV[7])
redis.call('ZADD', KEYS[3], now, ARGV[7])
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[4]) end
return -1
"""

# A study's ending, written once: its outcome fields and its report (expiring with the record),
# and its place in the owner's active studies freed. Returns 1 if this call wrote it, 0 if it was
# already written, -1 if the study is gone.
# KEYS: study record, report, owner's active studies; ARGV: study id, report, record fields…
END_STUDY = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[1], 'status') == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SET', KEYS[2], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
redis.call('SREM', KEYS[3], ARGV[1])
return 1
"""

# Heartbeats on the Redis server's clock, so workers on other machines agree with the API.
BEAT = """
local now = tonumber(redis.call('TIME')[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('EXPIRE', KEYS[1], 86400)
return 1
"""

LIVE = """
return redis.call('ZCOUNT', KEYS[1], '(' .. redis.call('TIME')[1], '+inf')
"""
