-- Prints wrk's summary as one JSON line. With WRK_DELAY_MS set, each connection
-- waits a random 0..2×WRK_DELAY_MS ms after every response (mean WRK_DELAY_MS), so
-- connections / delay gives the request rate and the connections do not stay in step:
-- with a fixed delay they send in bursts, and the burst, not the proxy, sets the latency.
-- delay() must be defined at load time: wrk checks for it before its threads start.
local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "")
if delay_ms then
  math.randomseed(os.time())
  function delay()
    return math.random(0, 2 * delay_ms)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%.0f,"bytes":%.0f,"duration_us":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,' ..
    '"status":%.0f,"timeout":%.0f,"p50_us":%.0f,"p99_us":%.0f}\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
