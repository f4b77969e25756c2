-- wrk script: each request carries an `Approov-Token` taken in turn from a token file.
--
--   wrk ... -s bench/tokens.lua http://127.0.0.1:PORT/ -- TOKEN_FILE THREADS [PATH [HEADER...]]
--
-- PATH (default `/`) is the path requested; each HEADER (`Name: value`) is sent with every
-- request, e.g. the `X-Forwarded-Uri` a gateway adds to a forward-auth call.
--
-- With one line in the file every request reuses that token. With many, every thread walks
-- the whole pool round robin, thread i starting at line i * N / THREADS, so that the threads
-- do not send the same token at the same time; a thread that reaches the end starts again at
-- line 1 (counted as "wrapped" for each full lap).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local tokens = {}
local n = 0
local i = 0
local sent = 0
wrapped = 0

local path = "/"
local extra = {}

function init(args)
  local file, nthreads = args[1], tonumber(args[2] or "1")
  path = args[3] or "/"
  for k = 4, #args do
    local name, value = string.match(args[k], "^([^:]+):%s*(.*)$")
    extra[name] = value
  end
  for line in io.lines(file) do
    n = n + 1
    tokens[n] = line
  end
  i = math.floor(id * n / nthreads)
end

function request()
  i = i + 1
  if i > n then
    i = 1
  end
  sent = sent + 1
  if n > 1 and sent % n == 0 then
    wrapped = wrapped + 1
  end
  local headers = { ["Approov-Token"] = tokens[i] }
  for name, value in pairs(extra) do
    headers[name] = value
  end
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  local total_wrapped = 0
  for _, thread in ipairs(threads) do
    total_wrapped = total_wrapped + (thread:get("wrapped") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non_2xx=%d socket_errors=%d wrapped=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout, total_wrapped))
end
