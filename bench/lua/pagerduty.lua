-- One PagerDuty Events v2 trigger per request, each with a dedup key never used before.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local key = os.getenv("BENCH_ROUTING_KEY")
local run = os.getenv("BENCH_RUN_ID") or "run"
local n = 0

function request()
   n = n + 1
   local body = '{"routing_key":"' .. key .. '","event_action":"trigger","dedup_key":"' .. run .. '-' .. tid ..
      '-' .. n .. '","payload":{"summary":"Disk almost full on host ' .. tid .. '-' .. n ..
      '","source":"db-' .. tid .. '.example.com","severity":"critical","component":"postgres",' ..
      '"group":"storage","class":"disk","custom_details":{"free_percent":3,"mount":"/var/lib"}}}'
   return wrk.format("POST", "/v2/enqueue", {["Content-Type"] = "application/json"}, body)
end
