-- The read mix, the same for every server: wrk -s bench/mix.lua URL -- PREFIX AUTHORIZATION EVERY
-- PREFIX goes before each path ("/v2" for capkit, "" for Prism, which serves the spec's paths
-- at the root); AUTHORIZATION is the header's value; one request in EVERY (0: none) is an
-- invalid lookup that a validating server refuses with 400. done() prints one line of counts,
-- "bench-mix sent_invalid=N ok=N rejected=N other=N", which bench/wrk.py reads.

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
   table.insert(threads, thread)
end

function init(args)
   local prefix = args[1] or ""
   local headers = { ["Authorization"] = args[2] }
   every = tonumber(args[3]) or 0
   valid = {
      wrk.format("GET", prefix .. "/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue=919111111111", headers),
      wrk.format("GET", prefix .. "/customers/565039505/pointsExpirySchedule", headers),
      wrk.format("GET", prefix .. "/customers/17742?source=WECHAT&accountId=22232", headers),
   }
   invalid = wrk.format("GET", prefix .. "/customers/lookup?source=INSTORE&identifierName=bogus&identifierValue=919111111111", headers)
   sent, sent_valid, sent_invalid = 0, 0, 0
   ok, rejected, other = 0, 0, 0
end

function request()
   sent = sent + 1
   if every > 0 and sent % every == 0 then
      sent_invalid = sent_invalid + 1
      return invalid
   end
   sent_valid = sent_valid + 1
   return valid[sent_valid % #valid + 1]
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      ok = ok + 1
   elseif status == 400 then
      rejected = rejected + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local totals = { sent_invalid = 0, ok = 0, rejected = 0, other = 0 }
   for _, thread in ipairs(threads) do
      for name, value in pairs(totals) do
         totals[name] = value + thread:get(name)
      end
   end
   io.write(string.format("bench-mix sent_invalid=%d ok=%d rejected=%d other=%d\n",
      totals.sent_invalid, totals.ok, totals.rejected, totals.other))
end
