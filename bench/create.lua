-- Durable creates alone: POST /api/v1/subjects, a new prospect with a unique email each.
dofile("bench/common.lua")
request = create_request
