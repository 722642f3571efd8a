-- Mixed traffic: 60% purpose-checked reads, 20% lookups by email (POST /api/v1/subjects/search,
-- the value in the body), 15% creates, 5% rights requests (access, recorded by the DPO).
dofile("bench/common.lua")
request = function()
  local r = math.random(100)
  if r <= 60 then return read_request()
  elseif r <= 80 then return lookup_request()
  elseif r <= 95 then return create_request()
  else return rights_request() end
end
