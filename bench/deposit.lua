-- wrk script: POST deposits with a fresh Idempotency-Key per request, spread over the users
-- whose bearer tokens are in the TOKENS environment variable (comma separated).
local counter = 0
local next_id = 0
local tokens = {}

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  for token in string.gmatch(os.getenv("TOKENS") or os.getenv("TOKEN"), "[^,]+") do
    table.insert(tokens, token)
  end
  wrk.method = "POST"
  wrk.body = '{"amount": "1.00"}'
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  wrk.headers["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1]
  wrk.headers["Idempotency-Key"] = string.format("bench-%d-%d-%d", id, counter, os.time())
  return wrk.format(nil, wrk.path)
end
