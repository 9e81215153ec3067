-- wrk script for bench/load.py: every request is a new visitor, with click IDs no other
-- request carries. Arguments: the kind of post (clicks or leads) and a run tag (8 hex).
-- done() prints one JSON line: posts answered, those refused (4xx, 5xx), broken connections,
-- the seconds it ran, and p50 and p99 latency in milliseconds.

local threads = {}

function setup(thread)
  thread:set("number", #threads)
  table.insert(threads, thread)
end

local kind, run, visit = nil, nil, 0

function init(args)
  kind, run = args[1], args[2]
end

local LANDING = "https://www.example.com/landing?utm_source=bing"
local HEADERS = { ["Content-Type"] = "application/json" }

function request()
  visit = visit + 1
  local msclkid = string.format("%s%08x%016x", run, number, visit)
  local gclid = string.format("Cj0KCQ-%s-%d-%d", run, number, visit)
  local ids = string.format('"msclkid":"%s","gclid":"%s"', msclkid, gclid)
  if kind == "clicks" then
    return wrk.format("POST", "/capture/clicks", HEADERS,
      string.format('{%s,"landing_url":"%s"}', ids, LANDING))
  end
  return wrk.format("POST", "/leads", HEADERS, string.format(
    '{%s,"name":"Bench Visitor %d-%d","email":"visitor%d.%d@example.com",'
    .. '"phone":"+1 425 555 0100","utm_source":"bing","landing_url":"%s",'
    .. '"submission_id":"%s-%d-%d"}',
    ids, number, visit, number, visit, LANDING, run, number, visit))
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"answered":%d,"refused":%d,"socket_errors":%d,"seconds":%f,"p50_ms":%f,"p99_ms":%f}\n',
    summary.requests, errors.status, errors.connect + errors.read + errors.write + errors.timeout,
    summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3))
end
