-- Create: POST .../Calls/{CallSid}/Payments.json with a fresh CallSid (registered at first use)
-- and a fresh IdempotencyKey on every request.
-- Data file record: <AccountSid> TAB <StatusCallback, form-encoded>.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

function init(args)
  headers = headers_for(args[1])
  local record = read_records(args[2])[1]
  account, callback = record[1], record[2]
  run = args[3]
  counter = 0
end

function request()
  local n = counter
  counter = counter + 1
  -- CA + 32 hex: run id (8) + thread (8) + counter (16)
  local call = string.format("CA%s%08x%08x%08x", run, tid, math.floor(n / 4294967296), n % 4294967296)
  local path = "/2010-04-01/Accounts/" .. account .. "/Calls/" .. call .. "/Payments.json"
  local body = "IdempotencyKey=c" .. run .. "-" .. tid .. "-" .. n .. "&StatusCallback=" .. callback
  return wrk.format("POST", path, headers, body)
end
