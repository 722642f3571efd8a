-- Purpose-checked reads alone: GET /api/v1/subjects/{id} with Vigie-Purpose, staff token.
dofile("bench/common.lua")
request = read_request
