-- wrk script: each request is a signed GET taken from a file of `bench_server signed`, and no
-- line is ever sent twice within a run (replay protection refuses a signature seen before).
--
--   wrk ... -s bench/signed.lua http://127.0.0.1:PORT/ -- FILE THREADS HOST
--
-- FILE has one request a line, `TOKEN<tab>SIGNATURE-INPUT<tab>SIGNATURE`, signed for
-- `https://HOST/` (the `Host` header sent). Thread i of THREADS sends lines
-- i * N / THREADS + 1 to (i + 1) * N / THREADS, in order, once each: the threads never share a
-- line. A thread that reaches the end of its share does not start again: it counts the
-- request it could not send as `exhausted`, stops, and sends one unsigned request instead
-- (which the server refuses), so that the run fails rather than reuse a signature.
--
-- The requests are formatted in init(), so that wrk spends its time sending them.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local requests = {}
local n = 0
local i = 0
local host = ""
exhausted = 0
lines = 0

function init(args)
  local file, nthreads = args[1], tonumber(args[2] or "1")
  host = args[3]
  local total = 0
  for _ in io.lines(file) do
    total = total + 1
  end
  local first = math.floor(id * total / nthreads) + 1
  local last = math.floor((id + 1) * total / nthreads)
  local k = 0
  for line in io.lines(file) do
    k = k + 1
    if k >= first and k <= last then
      local token, input, signature = string.match(line, "^([^\t]+)\t([^\t]+)\t([^\t]+)$")
      if not token then
        error(file .. ":" .. k .. ": not TOKEN<tab>SIGNATURE-INPUT<tab>SIGNATURE")
      end
      n = n + 1
      requests[n] = wrk.format("GET", "/", {
        ["Host"] = host,
        ["Approov-Token"] = token,
        ["Signature-Input"] = input,
        ["Signature"] = signature,
      })
    end
  end
  lines = n
end

function request()
  i = i + 1
  if i > n then
    exhausted = exhausted + 1
    wrk.thread:stop()
    return wrk.format("GET", "/", { ["Host"] = host })
  end
  return requests[i]
end

function done(summary, latency, requests)
  local total_exhausted, total_lines = 0, 0
  for _, thread in ipairs(threads) do
    total_exhausted = total_exhausted + (thread:get("exhausted") or 0)
    total_lines = total_lines + (thread:get("lines") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non_2xx=%d socket_errors=%d exhausted=%d lines=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout, total_exhausted, total_lines))
end
