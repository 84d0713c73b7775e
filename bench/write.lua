-- The write mix, capkit alone: wrk -t N -c N -s bench/write.lua URL -- PREFIX AUTHORIZATION NONCE
-- Each connection (one per thread, so its requests go one after the other) registers a
-- customer with a new mobile in INSTORE, then looks that mobile up: a lookup that misses is
-- a lost write. Mobiles are 9, NONCE (2 digits), the thread (2), a counter (7): unique per
-- NONCE. done() prints "bench-write registered=N found=N other=N", which bench/wrk.py reads.

local threads = {}

-- BENCH_REPLICAS ("host:port host:port"): the threads connect to each in turn, as a
-- round-robin balancer hands out connections; none: every thread to the URL's host.
local replicas = {}
for address in string.gmatch(os.getenv("BENCH_REPLICAS") or "", "%S+") do
   local host, port = string.match(address, "^(.+):(%d+)$")
   table.insert(replicas, wrk.lookup(host, port)[1])
end

function setup(thread)
   if #replicas > 0 then
      thread.addr = replicas[#threads % #replicas + 1]
   end
   thread:set("id", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   prefix = args[1] or ""
   nonce = tonumber(args[3]) or 0
   lookup_headers = { ["Authorization"] = args[2] }
   register_headers = { ["Authorization"] = args[2], ["Content-Type"] = "application/json" }
   -- What comes next changes only in response(): wrk calls request() once more than it
   -- sends, to check the script, so request() must not move the sequence on.
   mobiles, looking_up = 0, false
   registered, found, other = 0, 0, 0
end

local function mobile(k)
   return string.format("9%02d%02d%07d", nonce % 100, id % 100, k)
end

function request()
   if looking_up then
      return wrk.format("GET", prefix .. "/customers/lookup?source=INSTORE&identifierName=mobile"
         .. "&identifierValue=" .. mobile(mobiles), lookup_headers)
   end
   local body = '{"loyaltyInfo":{"loyaltyType":"loyalty"},"profiles":[{"firstName":"Bench",'
      .. '"identifiers":[{"type":"mobile","value":"' .. mobile(mobiles + 1) .. '"}]}]}'
   return wrk.format("POST", prefix .. "/customers?source=INSTORE", register_headers, body)
end

function response(status, headers, body)
   if looking_up then
      looking_up = false
      if status == 200 and string.find(body, '"entity"', 1, true) then
         found = found + 1
         return
      end
   else
      mobiles = mobiles + 1
      if status == 200 and string.find(body, '"createdId"', 1, true) then
         registered = registered + 1
         looking_up = true
         return
      end
   end
   other = other + 1
end

function done(summary, latency, requests)
   local totals = { registered = 0, found = 0, other = 0 }
   for _, thread in ipairs(threads) do
      for name, value in pairs(totals) do
         totals[name] = value + thread:get(name)
      end
   end
   io.write(string.format("bench-write registered=%d found=%d other=%d\n",
      totals.registered, totals.found, totals.other))
end
