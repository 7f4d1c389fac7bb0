-- wrk script: sends the requests of a plan file, one line per request ("token<TAB>JSON body"),
-- in order, each as POST /graphql with its own Authorization header, and checks every answer:
-- good when the status is 200, the body holds no "errors" (GraphQL answers errors with 200) and
-- holds WALL_EXPECT. Optionally counts WALL_COUNT in good answers (posts per page).
--
-- WALL_RATE > 0 paces the requests to that many per second in all, open-loop: each request takes
-- the next slot of a fixed schedule and waits for it (wrk's delay()), whatever became of the ones
-- before; a slot whose time has passed goes out at once. So the rate holds while a connection is
-- free at each slot; when every connection waits for an answer, requests queue behind them and the
-- achieved rate (reported) falls below WALL_RATE.
--
-- WALL_ONCE=1 stops after the plan's last request instead of starting it over (a backlog of exactly
-- the plan's commands): the thread stops and prints "PLANDONE"; wrk itself sleeps until -d is over,
-- so the caller ends it then with SIGINT (wrk then reports as usual; answers still on their way
-- when the thread stopped are not counted).
--
-- Run with one thread (-t1): the plan is walked by that thread; a second would send it again.
-- done() prints one line: "PLAN <requests> <bad> <good> <counted> <p50 ms> <p99 ms> <seconds> <wrapped>"
-- and "PLANFIRST <status and start of the first bad answer>".

local plan = {}
local expect = os.getenv("WALL_EXPECT")
local count = (os.getenv("WALL_COUNT") or ""):gsub("%p", "%%%0") -- a literal, not a Lua pattern
local rate = tonumber(os.getenv("WALL_RATE") or "0")
local once = os.getenv("WALL_ONCE") == "1"
local threads = {}
bad, good, counted, wrapped, first_bad = 0, 0, 0, 0, ""
local next_line = 0

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  for line in io.lines(os.getenv("WALL_PLAN")) do
    local tab = line:find("\t", 1, true)
    plan[#plan + 1] = wrk.format("POST", "/graphql", {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. line:sub(1, tab - 1),
    }, line:sub(tab + 1))
  end
end

function request()
  next_line = next_line + 1
  if next_line > #plan then
    if once then
      io.write("PLANDONE\n")
      io.flush()
      wrk.thread:stop()
      -- Something must be returned, and it is written before the thread stops: a harmless read.
      return wrk.format("GET", "/health")
    end
    next_line = 1
    wrapped = wrapped + 1
  end
  return plan[next_line]
end

if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef([[
    typedef struct { long tv_sec; long tv_nsec; } wall_timespec;
    int clock_gettime(int clock, wall_timespec *ts);
  ]])
  local ts = ffi.new("wall_timespec")
  local CLOCK_MONOTONIC = 1
  local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval = 1000 / rate
  local slot = nil
  function delay()
    local now = now_ms()
    slot = slot or now
    local wait = slot - now
    slot = slot + interval
    if wait < 0 then return 0 end
    return wait
  end
end

function response(status, headers, answer)
  if status ~= 200 or answer:find('"errors"', 1, true) or not answer:find(expect, 1, true) then
    bad = bad + 1
    if first_bad == "" then first_bad = status .. " " .. answer:sub(1, 300) end
  else
    good = good + 1
    if count ~= "" then
      local _, n = answer:gsub(count, "")
      counted = counted + n
    end
  end
end

function done(summary, latency, requests)
  local b, g, n, w, f = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    b = b + t:get("bad"); g = g + t:get("good"); n = n + t:get("counted"); w = w + t:get("wrapped")
    if f == "" then f = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format("PLAN %d %d %d %d %.3f %.3f %.6f %d\n", summary.requests, b + e.connect + e.read + e.write + e.timeout, g, n,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.duration / 1e6, w))
  io.write("PLANFIRST " .. f:gsub("[\r\n]", " ") .. "\n")
end
