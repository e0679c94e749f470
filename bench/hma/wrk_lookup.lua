-- wrk script for HMA's lookup URLs, on HMA itself or on indexguard's HMA-compatible mount: GET
-- PREFIX/m/raw_lookup?signal_type=pdq&signal=... (or PATH), rotating through a file of query hashes.
-- Usage: wrk -t2 -c16 -d20s --latency -s wrk_lookup.lua http://127.0.0.1:8080 -- QUERIES [PREFIX] [API_KEY] [PATH]
--   PREFIX "" for HMA, "/hma" for indexguard; API_KEY sent as a Bearer token when given.
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  queries = {}
  for l in io.lines(args[1]) do
    if #l > 0 then queries[#queries + 1] = l end
  end
  prefix = args[2] or ""
  if args[3] and #args[3] > 0 then wrk.headers["Authorization"] = "Bearer " .. args[3] end
  path = prefix .. (args[4] or "/m/raw_lookup")
  i = ((tid or 0) * 500) % #queries
end

function request()
  i = i % #queries + 1
  return wrk.format("GET", path .. "?signal_type=pdq&include_distance=true&signal=" .. queries[i])
end
