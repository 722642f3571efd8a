-- Shared by the wrk scripts of bench/ (loaded with dofile from the repository root).
-- Reads the tokens and seeded subjects bench/run.sh wrote to $BENCH_DIR, and prints one
-- summary line per run: throughput, latency percentiles, max, non-2xx and socket errors.

local dir = os.getenv("BENCH_DIR") or "."

local function first_line(path)
  local f = assert(io.open(path, "r"), "missing " .. path)
  local s = f:read("*l")
  f:close()
  return s
end

staff = first_line(dir .. "/staff.token")
dpo = first_line(dir .. "/dpo.token")
ids, emails = {}, {}
for line in io.lines(dir .. "/subjects.txt") do
  local id, email = line:match("^(%S+) (%S+)$")
  if id then
    ids[#ids + 1] = id
    emails[#emails + 1] = email
  end
end
assert(#ids > 0, "no seeded subject in " .. dir .. "/subjects.txt")

local counter = 0
local tid = 0
local threads = {}

function setup(thread)
  tid = tid + 1
  thread:set("tid", tid)
  threads[#threads + 1] = thread
end

function init(args)
  math.randomseed(tid * 7919 + os.time())
end

-- A unique email per create (instance, thread id, counter, time) so that creates never collide,
-- also between the two wrk processes of a two-instance run (BENCH_INSTANCE).
local instance = os.getenv("BENCH_INSTANCE") or "1"
function fresh_email()
  counter = counter + 1
  return string.format("load-%s-%d-%d-%d@bench.example", instance, tid, os.time(), counter)
end

function read_request()
  local i = math.random(#ids)
  return wrk.format("GET", "/api/v1/subjects/" .. ids[i],
    { ["Authorization"] = "Bearer " .. staff, ["Vigie-Purpose"] = "prospect_relations" })
end

function lookup_request()
  local i = math.random(#emails)
  return wrk.format("POST", "/api/v1/subjects/search",
    { ["Authorization"] = "Bearer " .. staff, ["Vigie-Purpose"] = "prospect_relations",
      ["Content-Type"] = "application/json" },
    '{"email":"' .. emails[i] .. '"}')
end

function create_request()
  local body = '{"kind":"prospect","identity":{"first_name":"Camille","last_name":"Bench","email":"'
    .. fresh_email() .. '","company":"Bench SARL"}}'
  return wrk.format("POST", "/api/v1/subjects",
    { ["Authorization"] = "Bearer " .. staff, ["Content-Type"] = "application/json" }, body)
end

function rights_request()
  local body = '{"kind":"access","received_at":"' .. os.date("!%Y-%m-%d")
    .. '","channel":"email","requester":{"first_name":"Camille","last_name":"Bench","email":"'
    .. fresh_email() .. '"}}'
  return wrk.format("POST", "/api/v1/requests",
    { ["Authorization"] = "Bearer " .. dpo, ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local non2xx = e.status
  local sockets = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    "RESULT name=%s requests=%d rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f non2xx=%d socket_errors=%d\n",
    os.getenv("BENCH_NAME") or "?", summary.requests, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, non2xx, sockets))
end
