-- UMA grant (urn:ietf:params:oauth:grant-type:uma-ticket), one fresh ticket
-- per request, for our server.
-- wrk -tN ... -s uma_grant.lua URL -- TICKETS_FILE CLIENT_ID CLIENT_SECRET N
-- (or env TICKETS_FILE, CLIENT_ID, CLIENT_SECRET, WRK_THREADS). One ticket
-- per line; N must equal wrk's -t so the threads split the tickets exactly.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
script_name = "uma_grant"

local prefix = "grant_type=" .. urlencode("urn:ietf:params:oauth:grant-type:uma-ticket") .. "&ticket="
local reqs, next_i = {}, 1

function init(args)
  post_form(basic_auth(param(args, 2, "CLIENT_ID"), param(args, 3, "CLIENT_SECRET")), nil)
  nthreads = tonumber(param(args, 4, "WRK_THREADS"))
  -- Thread `id` takes lines id, id+n, id+2n, ... so no ticket is used twice.
  -- Requests are built up front to keep wrk's own CPU use low.
  local n = 0
  for line in io.lines(param(args, 1, "TICKETS_FILE")) do
    if line ~= "" then
      n = n + 1
      if (n - 1) % nthreads == id - 1 then
        reqs[#reqs + 1] = wrk.format(nil, nil, nil, prefix .. urlencode(line))
      end
    end
  end
end

function request()
  local req = reqs[next_i]
  next_i = next_i + 1
  if not req then
    -- Out of tickets: stop this thread. The request still sent carries an
    -- invalid ticket; it is counted in tickets_exhausted (and in non2xx).
    exhausted = exhausted + 1
    wrk.thread:stop()
    req = wrk.format(nil, nil, nil, prefix .. "exhausted")
  end
  return req
end
