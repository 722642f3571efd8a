-- GET /api/v1/health on the same server: what the HTTP stack alone costs.
dofile("bench/common.lua")
request = function() return wrk.format("GET", "/api/v1/health") end
