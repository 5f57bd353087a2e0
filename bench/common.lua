-- Shared by update.lua, replay.lua and create.lua (loaded with dofile).
--
-- Script arguments (after `--` on wrk's command line):
--   1: the Authorization header value ("Basic ...")
--   2: a data file, one tab-separated record per line (what a record holds depends on the script)
--   3: a run id (hex), so that IdempotencyKeys and CallSids are fresh across runs
--
-- Every thread counts the answers that are not 2xx; done() prints one JSON line, prefixed with
-- "BENCH_JSON ", that bench/harness/wrk.py parses (latencies in microseconds).

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function read_records(path)
  local records = {}
  for line in io.lines(path) do
    if #line > 0 then
      local fields = {}
      for field in string.gmatch(line, "[^\t]+") do
        table.insert(fields, field)
      end
      table.insert(records, fields)
    end
  end
  assert(#records > 0, "no records in " .. path)
  return records
end

function headers_for(auth)
  return {
    ["Authorization"] = auth,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
end

non2xx = 0
statuses = {}

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local non = 0
  local seen = {}
  for _, thread in ipairs(threads) do
    non = non + (thread:get("non2xx") or 0)
    local counts = thread:get("statuses") or {}
    for status, count in pairs(counts) do
      seen[status] = (seen[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(seen) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "non2xx": %d, '
      .. '"statuses": {%s}, "errors": {"connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d}, "latency_us": {"p50": %d, "p95": %d, "p99": %d, '
      .. '"mean": %.1f, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes, non, table.concat(parts, ", "),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.mean, latency.max
  ))
end
