-- wrk script for indexguard: GET /v1/lookup?type=pdq&hash=..., rotating through a file of query hashes
-- (one hex a line); each wrk thread starts at its own offset.
-- Usage: wrk -t2 -c16 -d20s --latency -s wrk_ig_lookup.lua http://127.0.0.1:PORT -- QUERIES API_KEY
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function init(args)
  queries = {}
  for l in io.lines(args[1]) do if #l > 0 then queries[#queries + 1] = l end end
  headers = {["Authorization"] = "Bearer " .. args[2]}
  i = ((tid or 0) * 500) % #queries
end
function request()
  i = i % #queries + 1
  return wrk.format("GET", "/v1/lookup?type=pdq&hash=" .. queries[i], headers)
end
