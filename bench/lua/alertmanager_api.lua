-- The same batches of firing alerts, posted to Alertmanager's own API (POST /api/v2/alerts).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local batch = tonumber(os.getenv("BENCH_BATCH") or "100")
local run = os.getenv("BENCH_RUN_ID") or "run"
local n = 0

function request()
   n = n + 1
   local alerts = {}
   for j = 1, batch do
      local instance = run .. "-" .. tid .. "-" .. n .. "-" .. j
      alerts[j] = '{"labels":{"alertname":"HighLatency","severity":"warning","job":"api",' ..
         '"instance":"' .. instance .. '"},"annotations":{"summary":"p99 latency above 1s on ' .. instance ..
         '"},"generatorURL":"http://prometheus.example.com/graph"}'
   end
   return wrk.format("POST", "/api/v2/alerts", {["Content-Type"] = "application/json"},
      "[" .. table.concat(alerts, ",") .. "]")
end
