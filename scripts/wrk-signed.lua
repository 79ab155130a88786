-- wrk script: every request carries its own pre-signed App-Key/Nonce/Timestamp/Signature (the
-- server refuses a replayed nonce), read from $SIGNED_FILE; body from $BODY_TEMPLATE with %d
-- replaced by a rotating user number.
local counter = 1
local threads = {}

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  lines = {}
  local n = 0
  local stride = tonumber(os.getenv("WRK_THREADS") or "2")
  for line in io.lines(os.getenv("SIGNED_FILE")) do
    n = n + 1
    if n % stride == id - 1 then table.insert(lines, line) end
  end
  app_key = os.getenv("APP_KEY")
  path = os.getenv("API_PATH")
  template = os.getenv("BODY_TEMPLATE")
  users = tonumber(os.getenv("USERS") or "1000")
  i = 0
end

function request()
  i = i + 1
  local nonce, ts, sig = lines[(i - 1) % #lines + 1]:match("(%S+) (%S+) (%S+)")
  local headers = { ["Content-Type"] = "application/json", ["App-Key"] = app_key,
                    ["Nonce"] = nonce, ["Timestamp"] = ts, ["Signature"] = sig }
  return wrk.format("POST", path, headers, string.format(template, i % users))
end

function done(summary, latency, requests)
  io.write(string.format("WRKRESULT %.1f %.3f %.3f %d %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
