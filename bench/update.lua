-- The update path: POST .../Payments/{Sid}.json with a fresh IdempotencyKey on every request,
-- Capture cycling over the four card items, spread over the prepared sessions.
-- Data file records: <path of the session> TAB <StatusCallback, form-encoded>.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

local captures = { "payment-card-number", "expiration-date", "security-code", "postal-code" }

function init(args)
  headers = headers_for(args[1])
  sessions = read_records(args[2])
  prefix = "u" .. args[3] .. "-" .. tid .. "-"
  counter = 0
end

function request()
  local n = counter
  counter = counter + 1
  local session = sessions[n % #sessions + 1]
  local capture = captures[math.floor(n / #sessions) % #captures + 1]
  local body = "IdempotencyKey=" .. prefix .. n .. "&Capture=" .. capture
    .. "&StatusCallback=" .. session[2]
  return wrk.format("POST", session[1], headers, body)
end
