-- wrk script for every load of `make bench`, driven by environment variables:
--   BENCH_TOKENS       bearer tokens, comma separated; requests go round the list (none: no header)
--   BENCH_METHOD       GET (default) or POST
--   BENCH_BODY         JSON body of each request (POST)
--   BENCH_KEY_PREFIX   when set, a fresh Idempotency-Key per request: <prefix>-<thread>-<n>
-- With one token (or none) and no key the request never changes, so wrk sends a prebuilt one
-- (no Lua per request). Every load counts responses by status and keeps the first body of each
-- status >= 300; `done` prints them as `bench-status <code> <n>` and `bench-sample <code> <body>`.
local threads = {}
local next_id = 0

tokens = {}
for token in string.gmatch(os.getenv("BENCH_TOKENS") or "", "[^,]+") do
  table.insert(tokens, token)
end
local key_prefix = os.getenv("BENCH_KEY_PREFIX")
counter = 0
statuses = {}
samples = {}

wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.body = os.getenv("BENCH_BODY")
if wrk.body then
  wrk.headers["Content-Type"] = "application/json"
end
if #tokens > 0 then
  wrk.headers["Authorization"] = "Bearer " .. tokens[1]
end

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

if #tokens > 1 or key_prefix then
  function request()
    counter = counter + 1
    if #tokens > 1 then
      wrk.headers["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1]
    end
    if key_prefix then
      wrk.headers["Idempotency-Key"] = string.format("%s-%d-%d", key_prefix, id, counter)
    end
    return wrk.format()
  end
end

function response(status, headers, body)
  local code = tostring(status)
  statuses[code] = (statuses[code] or 0) + 1
  if status >= 300 and samples[code] == nil then
    samples[code] = string.sub(body or "", 1, 400)
  end
end

function done(summary, latency, requests)
  local totals, firsts = {}, {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses") or {}) do
      totals[code] = (totals[code] or 0) + n
    end
    for code, body in pairs(thread:get("samples") or {}) do
      firsts[code] = firsts[code] or body
    end
  end
  for code, n in pairs(totals) do
    io.write(string.format("bench-status %s %d\n", code, n))
  end
  for code, body in pairs(firsts) do
    io.write(string.format("bench-sample %s %s\n", code, (string.gsub(body, "%s+", " "))))
  end
end
