-- One Alertmanager webhook (payload version 4) per request, carrying BENCH_BATCH firing alerts never seen before.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local path = "/integrations/" .. os.getenv("BENCH_INTEGRATION_KEY") .. "/alertmanager"
local batch = tonumber(os.getenv("BENCH_BATCH") or "100")
local run = os.getenv("BENCH_RUN_ID") or "run"
local n = 0

function request()
   n = n + 1
   local alerts = {}
   for j = 1, batch do
      local instance = run .. "-" .. tid .. "-" .. n .. "-" .. j
      alerts[j] = '{"status":"firing","labels":{"alertname":"HighLatency","severity":"warning","job":"api",' ..
         '"instance":"' .. instance .. '"},"annotations":{"summary":"p99 latency above 1s on ' .. instance ..
         '"},"startsAt":"2026-11-24T09:00:00Z","endsAt":"0001-01-01T00:00:00Z",' ..
         '"generatorURL":"http://prometheus.example.com/graph","fingerprint":"' .. instance .. '"}'
   end
   local body = '{"version":"4","groupKey":"{}:{alertname=\\"HighLatency\\"}","truncatedAlerts":0,' ..
      '"status":"firing","receiver":"tocsin","groupLabels":{"alertname":"HighLatency"},' ..
      '"commonLabels":{"alertname":"HighLatency","job":"api"},"commonAnnotations":{},' ..
      '"externalURL":"http://alertmanager.example.com","alerts":[' .. table.concat(alerts, ",") .. ']}'
   return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end
