"""Redis online store: the production adapter, shared by every API replica.

One payment is one round trip: a Lua script that checks the replay marker, answers the
novelty questions, records the payment into each entity's window sorted set, expires old
events and computes every window server side, atomically (Redis runs a script alone), so
concurrent decisions on one card never miss each other.

Key layout under the prefix (default "riskops:f:"):
    txn:<transaction_id>       replay marker: the reply, msgpack, expires after REPLAY_TTL
    w:<kind>:<entity id>       ZSET of events scored by event time (integer microseconds),
                               member "<amount>:<len country>:<len merchant>:<country>
                               <merchant><transaction_id>" for cards and accounts (the
                               lengths let ids hold ':'), "<amount>:<transaction_id>" for
                               merchants and devices
    a:<kind>:<entity id>       HASH of running totals per window for merchants and devices
    n:card_country:<card>      ZSET value -> last seen event time (novelty memory)
    n:card_merchant:<card>
    n:account_device:<account>
    fraud:<merchant id>        ZSET of the merchant's payments labelled fraud, member the
                               transaction id, scored by event time

Cost per payment: cards and accounts are summed in one pass over their week of events
(they need distinct merchants/countries, and one card pays a few times a week). A busy
merchant or a shared device can hold millions of events a week, so their windows keep
running totals instead: an event is added once and subtracted once per window as the
window's back edge passes it, and a late event only reads the stretch it is late by.
Novelty uses sorted sets rather than plain sets so each value carries its last-seen time,
bounding memory by the retention exactly as the in-process store does.

The keys of one payment span several hash slots: a single Redis primary (with replicas),
not Redis Cluster. Run it with a no-eviction policy: evicting one key of an entity would
desynchronise its running totals from its events until the entity idles out.
"""

from datetime import datetime, timedelta
from typing import Final

from redis.asyncio import Redis

from riskops.core.payment import Payment
from riskops.features.definitions import (
    DELAYED_WINDOWS,
    LABEL_DELAY,
    MAX_WINDOW,
    NOVELTY_RETENTION,
    WINDOWS,
    RawAggregates,
    duration_us,
    event_time_us,
    merchant_history,
)
from riskops.features.flat import decode_aggregates
from riskops.features.store import state_ttl

DEFAULT_KEY_PREFIX: Final = "riskops:f:"
# How long a transaction's reply is kept to answer a redelivery with the same aggregates.
# Shorter than the windows on purpose (markers would cost as much memory as the windows):
# after it a redelivery is still not counted twice, as its event is already in every
# window set, but it gets freshly computed aggregates.
REPLAY_TTL: Final = timedelta(days=1)

# KEYS: 1 replay marker, 2 card window, 3 account window, 4 merchant window,
#       5 merchant totals, 6 card countries seen, 7 card merchants seen, 8 merchant frauds,
#       [9 device window, 10 device totals, 11 account devices seen]
# ARGV: 1 event time us, 2 amount, 3 member (scanned sets), 4 short member (totals sets),
#       5 country, 6 merchant id, 7 device id, 8 largest window us, 9 window key ttl ms,
#       10 replay marker ttl ms, 11 novelty retention us, 12 novelty key ttl ms,
#       13 merchant history us, 14 label delay us, 15 number k of delayed windows,
#       16..15+k delayed window lengths us, 16+k.. window lengths us (WINDOWS order)
# Reply: {replayed 0/1, {values...}} in store.py's flat layout; the marker keeps the values
# msgpack-encoded (cmsgpack ships with Redis' Lua).
_RECORD_SCRIPT: Final = """
local cached = redis.call('GET', KEYS[1])
if cached then
  return {1, cmsgpack.unpack(cached)}
end

local t = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local member = ARGV[3]
local member_short = ARGV[4]
local max_window = tonumber(ARGV[8])
local window_ttl = ARGV[9]
local retention = tonumber(ARGV[11])
local merchant_keep = tonumber(ARGV[13])
local delay = tonumber(ARGV[14])
local delayed = {}
for i = 16, 15 + tonumber(ARGV[15]) do
  delayed[#delayed + 1] = tonumber(ARGV[i])
end
local windows = {}
for i = 16 + #delayed, #ARGV do
  windows[#windows + 1] = tonumber(ARGV[i])
end

-- Times are integer microseconds (below 2^53, exact as doubles). redis.call passes numbers
-- exactly, but string concatenation would use tostring, which keeps 14 significant
-- digits and would move window bounds: format with %d where a string is built.
local function int(n)
  return string.format('%d', n)
end

local out = {}
local function emit(a, b, c, d)
  local at = #out
  out[at + 1], out[at + 2], out[at + 3], out[at + 4] = a, b, c, d
end

local function itself(d)
  for _ = 1, #windows do
    emit(1, amount, d, d)
  end
end

-- 1 when value was not seen for this key within the retention before t; then remember it.
local function first_seen(key, value)
  local last = redis.call('ZSCORE', key, value)
  if redis.call('ZADD', key, 'GT', t, value) == 1 then
    -- Trim only as the set grows: members past the retention already count as new.
    redis.call('ZREMRANGEBYSCORE', key, '-inf', t - retention)
  end
  redis.call('PEXPIRE', key, ARGV[12])
  if last and tonumber(last) > t - retention then
    return 0
  end
  return 1
end

-- Newest event time of a window set, nil when empty.
local function newest_of(key)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  return top[2] and tonumber(top[2])
end

-- Count and amount of the events with low < time <= high.
local function between(key, low, high)
  local count, total = 0, 0
  if low < high then
    for _, row in ipairs(redis.call('ZRANGE', key, '(' .. int(low), int(high), 'BYSCORE')) do
      count = count + 1
      total = total + tonumber(string.match(row, '^(%-?%d+):'))
    end
  end
  return count, total
end

-- Cards and accounts: one pass over the largest window fills every (nested) window.
local function observe_by_scan(key)
  local newest = math.max(newest_of(key) or t, t)
  -- Out of every window of every later payment: expired now, as the memory store does.
  local cutoff = newest - max_window
  redis.call('ZREMRANGEBYSCORE', key, '-inf', cutoff)
  if t <= cutoff then
    itself(1)  -- more than the largest window older than the entity's newest event
    return
  end
  redis.call('ZADD', key, t, member)
  redis.call('PEXPIRE', key, window_ttl)

  local counts, sums, merchants, countries, seen_m, seen_c = {}, {}, {}, {}, {}, {}
  for w = 1, #windows do
    counts[w], sums[w], merchants[w], countries[w] = 0, 0, 0, 0
    seen_m[w], seen_c[w] = {}, {}
  end
  local since = '(' .. int(t - max_window)
  local rows = redis.call('ZRANGE', key, since, int(t), 'BYSCORE', 'WITHSCORES')
  for i = 1, #rows, 2 do
    local row = rows[i]
    local age = t - tonumber(rows[i + 1])
    local value, country_len, merchant_len, at = string.match(row, '^(%-?%d+):(%d+):(%d+):()')
    value, country_len = tonumber(value), tonumber(country_len)
    local country = string.sub(row, at, at + country_len - 1)
    local merchant = string.sub(row, at + country_len, at + country_len + merchant_len - 1)
    for w = 1, #windows do
      if age < windows[w] then
        counts[w] = counts[w] + 1
        sums[w] = sums[w] + value
        if not seen_m[w][merchant] then
          seen_m[w][merchant] = true
          merchants[w] = merchants[w] + 1
        end
        if not seen_c[w][country] then
          seen_c[w][country] = true
          countries[w] = countries[w] + 1
        end
      end
    end
  end
  for w = 1, #windows do
    emit(counts[w], sums[w], merchants[w], countries[w])
  end
end

-- Merchants and devices: running totals of (newest - width, newest] per window; events
-- are kept `keep` behind the newest (merchants longer, for the delayed windows). Returns
-- the entity's newest event time and whether this payment entered its windows.
local total_fields = {'newest'}
for w = 1, #windows do
  total_fields[#total_fields + 1] = 'c' .. w
  total_fields[#total_fields + 1] = 's' .. w
end

local function observe_by_totals(key, totals_key, keep)
  local state = redis.call('HMGET', totals_key, unpack(total_fields))
  local newest = tonumber(state[1])
  local counts, sums = {}, {}
  for w = 1, #windows do
    counts[w] = tonumber(state[2 * w]) or 0
    sums[w] = tonumber(state[2 * w + 1]) or 0
  end
  if newest == nil then
    newest = t
  elseif t > newest then
    -- The clock moves: events the back edges pass leave the totals (before expiry drops them).
    for w = 1, #windows do
      local c, s = between(key, newest - windows[w], t - windows[w])
      counts[w], sums[w] = counts[w] - c, sums[w] - s
    end
    newest = t
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', int(newest - keep))
  if t <= newest - max_window then
    itself(0)
    return newest, false
  end
  -- 0 when the member is there already: a redelivery after its replay marker expired
  -- must not count twice (the scanned windows get this from the set itself).
  local added = redis.call('ZADD', key, t, member_short) == 1
  local fields = {'newest', newest}
  for w = 1, #windows do
    if added and t > newest - windows[w] then
      counts[w], sums[w] = counts[w] + 1, sums[w] + amount
    end
    local at = #fields
    fields[at + 1], fields[at + 2] = 'c' .. w, counts[w]
    fields[at + 3], fields[at + 4] = 's' .. w, sums[w]
  end
  redis.call('HSET', totals_key, unpack(fields))
  redis.call('PEXPIRE', key, window_ttl)
  redis.call('PEXPIRE', totals_key, window_ttl)

  if t == newest then
    for w = 1, #windows do
      emit(counts[w], sums[w], 0, 0)
    end
    return newest, true
  end
  -- A late payment: (t - w, t] is the totals' (newest - w, newest] without what happened
  -- after t, plus the stretch the window reaches further back; both as long as the delay.
  -- Events at or before the largest window behind the newest are gone for every window,
  -- even where a merchant still keeps them for its delayed windows.
  local floor = newest - max_window
  local later_c, later_s = between(key, t, newest)
  for w = 1, #windows do
    local back = math.max(t - windows[w], floor)
    if newest - windows[w] < t then
      local back_c, back_s = between(key, back, newest - windows[w])
      emit(counts[w] - later_c + back_c, sums[w] - later_s + back_s, 0, 0)
    else
      local c, s = between(key, back, t)  -- later than the whole window: read it
      emit(c, s, 0, 0)
    end
  end
  return newest, true
end

-- Novelty is answered before this payment is recorded anywhere.
local new_country = first_seen(KEYS[6], ARGV[5])
local new_merchant = first_seen(KEYS[7], ARGV[6])
local has_device = #KEYS >= 11
local new_device = 0
if has_device then
  new_device = first_seen(KEYS[11], ARGV[7])
end

observe_by_scan(KEYS[2])
observe_by_scan(KEYS[3])
if has_device then
  observe_by_totals(KEYS[9], KEYS[10], max_window)
else
  for _ = 1, #windows do
    emit(0, 0, 0, 0)
  end
end
local merchant_newest, counted = observe_by_totals(KEYS[4], KEYS[5], merchant_keep)
emit(has_device and 1 or 0, new_country, new_merchant, new_device)

-- The merchant's delayed windows (end - width, end]: its payments, those labelled fraud.
-- Nothing at or before `keep` counts, whether or not it was trimmed yet.
local keep = merchant_newest - merchant_keep
redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', int(keep))
local finish = int(t - delay)
for w = 1, #delayed do
  if counted then
    local start = '(' .. int(math.max(t - delay - delayed[w], keep))
    out[#out + 1] = redis.call('ZCOUNT', KEYS[4], start, finish)
    out[#out + 1] = redis.call('ZCOUNT', KEYS[8], start, finish)
  else
    out[#out + 1], out[#out + 2] = 0, 0
  end
end

redis.call('SET', KEYS[1], cmsgpack.pack(out), 'PX', ARGV[10])
return {0, out}
"""


def _ms(span: timedelta) -> int:
    return span // timedelta(milliseconds=1)


class RedisOnlineStore:
    """OnlineStore on Redis >= 6.2 (ZADD GT, ZRANGE BYSCORE); a single primary, not Cluster."""

    def __init__(
        self,
        redis: str | Redis,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        novelty_retention: timedelta = NOVELTY_RETENTION,
        replay_ttl: timedelta = REPLAY_TTL,
        label_delay: timedelta = LABEL_DELAY,
    ) -> None:
        # A client passed in belongs to the caller (shared pool); one built from a url is ours.
        self._owns_client = isinstance(redis, str)
        self._redis = Redis.from_url(redis) if isinstance(redis, str) else redis
        self._prefix = key_prefix
        self._script = self._redis.register_script(_RECORD_SCRIPT)
        # Wall-clock TTLs are only a safety net for idle keys; event-time expiry is the
        # ZREMRANGEBYSCORE in the script.
        self._state_ttl_ms = _ms(state_ttl(label_delay))
        self._settings = (
            duration_us(MAX_WINDOW),
            self._state_ttl_ms,
            _ms(replay_ttl),
            duration_us(novelty_retention),
            _ms(novelty_retention),
            duration_us(merchant_history(label_delay)),
            duration_us(label_delay),
            len(DELAYED_WINDOWS),
            *(duration_us(w) for w in DELAYED_WINDOWS.values()),
            *(duration_us(w) for w in WINDOWS.values()),
        )

    @property
    def key_prefix(self) -> str:
        return self._prefix

    async def record(self, payment: Payment) -> RawAggregates:
        values, replayed = await self._record(payment)
        return decode_aggregates(values, replayed=replayed)

    async def record_values(self, payment: Payment) -> list[int]:
        return (await self._record(payment))[0]

    async def _record(self, payment: Payment) -> tuple[list[int], bool]:
        """The script's flat reply (store.py's layout) and whether it is a replay's."""
        prefix, txn = self._prefix, payment.transaction_id
        card, account, device = payment.card_token, payment.account_id, payment.device_id
        country, merchant, amount = (
            payment.merchant_country,
            payment.merchant_id,
            payment.amount_minor,
        )
        keys = [
            f"{prefix}txn:{txn}",
            f"{prefix}w:card:{card}",
            f"{prefix}w:account:{account}",
            f"{prefix}w:merchant:{merchant}",
            f"{prefix}a:merchant:{merchant}",
            f"{prefix}n:card_country:{card}",
            f"{prefix}n:card_merchant:{card}",
            f"{prefix}fraud:{merchant}",
        ]
        if device is not None:
            keys += [
                f"{prefix}w:device:{device}",
                f"{prefix}a:device:{device}",
                f"{prefix}n:account_device:{account}",
            ]
        args: list[str | int] = [
            event_time_us(payment.occurred_at),
            amount,
            f"{amount}:{len(country.encode())}:{len(merchant.encode())}:{country}{merchant}{txn}",
            f"{amount}:{txn}",  # merchants and devices only sum, so keep their members short
            country,
            merchant,
            device or "",
            *self._settings,
        ]
        replayed, values = await self._script(keys=keys, args=args)
        return [int(v) for v in values], bool(replayed)

    async def record_label(
        self, transaction_id: str, merchant_id: str, occurred_at: datetime, fraud: bool
    ) -> None:
        # The fraud set is its own idempotency marker: adding a member twice, or removing an
        # absent one, changes nothing. The record script trims it by event time.
        key = f"{self._prefix}fraud:{merchant_id}"
        if not fraud:
            await self._redis.zrem(key, transaction_id)
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {transaction_id: event_time_us(occurred_at)}, nx=True)
            pipe.pexpire(key, self._state_ttl_ms)
            await pipe.execute()

    async def ping(self) -> None:
        await self._redis.ping()

    async def clear(self) -> None:
        """Delete every key under this store's prefix (the data was emptied)."""
        batch: list[bytes | str] = []
        async for key in self._redis.scan_iter(match=f"{self._prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                await self._redis.unlink(*batch)
                batch.clear()
        if batch:
            await self._redis.unlink(*batch)

    async def close(self) -> None:
        if self._owns_client:
            await self._redis.aclose()
