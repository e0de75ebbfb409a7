-- wrk script: GET the lines of a request file in turn ("<path>\t<cookie>" per line),
-- each as a logged-in user, and print one JSON line of figures at the end.
-- Every request closes its connection, so the kernel hands each one to whichever
-- gunicorn worker accepts first (a kept-alive connection would stay pinned to one
-- worker for the whole run and leave the other idle).
local lines = {}
local i = 0

function init(args)
  for line in io.lines(args[1]) do
    local path, cookie = line:match("^([^\t]*)\t?(.*)$")
    lines[#lines + 1] = { path, cookie }
  end
  i = math.random(#lines)
end

function request()
  i = i % #lines + 1
  local line = lines[i]
  local headers = {
    ["Connection"] = "close",
    ["X-Forwarded-For"] = "127.0.0.1",
    ["X-Forwarded-Proto"] = "https",
  }
  if line[2] ~= "" then
    headers["Cookie"] = line[2]
  end
  return wrk.format("GET", line[1], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx_3xx": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.mean, latency.max
  ))
end
