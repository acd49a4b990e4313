-- Shared by the bench scripts (bench/run.py sets BENCH_OUT): when the run is done, write
-- its figures as JSON. Failed answers are wrk's "status" errors (4xx and 5xx) and those a
-- script counts itself (a refresh answer without a new refresh token).
threads = {}
failures = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_index", #threads)
  if on_setup then on_setup(thread, #threads) end
end

function done(summary, latency, requests)
  local e = summary.errors
  local counted = 0
  for _, thread in ipairs(threads) do counted = counted + (thread:get("failures") or 0) end
  local out = io.open(os.getenv("BENCH_OUT"), "w")
  out:write(string.format(
    '{"requests": %d, "errors": %d, "seconds": %.6f, "p50_us": %.1f, "p99_us": %.1f}',
    summary.requests, e.connect + e.read + e.write + e.timeout + e.status + counted,
    summary.duration / 1e6, latency:percentile(50), latency:percentile(99)))
  out:close()
end
