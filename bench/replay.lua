-- Idempotent replays: cycles over requests whose IdempotencyKey was already used once, with
-- the very same parameters, so that every answer is the stored first answer.
-- Data file records: <path> TAB <form body>.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

function init(args)
  headers = headers_for(args[1])
  records = read_records(args[2])
  counter = 0
end

function request()
  local record = records[counter % #records + 1]
  counter = counter + 1
  return wrk.format("POST", record[1], headers, record[2])
end
