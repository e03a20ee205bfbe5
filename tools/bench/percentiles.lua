-- wrk script: after the run, print latency percentiles (microseconds) including p99.9,
-- which wrk's own --latency table omits. Optional POST body from the file in env BODY_FILE.
local body_file = os.getenv("BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end

done = function(summary, latency, requests)
  io.write(string.format("FLINT requests %d duration_us %d errors %d non2xx %d\n",
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("FLINT p%s %d\n", tostring(p), latency:percentile(p)))
  end
end
