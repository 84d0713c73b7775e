-- Requests that ask to be answered late, each connection one at a time:
-- wrk -s bench/delayed.lua URL -- PREFIX AUTHORIZATION DELAY_MS
-- Each sends GET PREFIX/customers/565039505/pointsExpirySchedule with `Prefer: delay=DELAY_MS`.
-- done() prints one line of counts, "bench-delayed ok=N other=N", which bench/wrk.py reads.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   local headers = { ["Authorization"] = args[2], ["Prefer"] = "delay=" .. args[3] }
   delayed = wrk.format("GET", args[1] .. "/customers/565039505/pointsExpirySchedule", headers)
   ok, other = 0, 0
end

function request()
   return delayed
end

function response(status, headers, body)
   if status == 200 then
      ok = ok + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local totals = { ok = 0, other = 0 }
   for _, thread in ipairs(threads) do
      for name, value in pairs(totals) do
         totals[name] = value + thread:get(name)
      end
   end
   io.write(string.format("bench-delayed ok=%d other=%d\n", totals.ok, totals.other))
end
