-- client_credentials grant with HTTP Basic client auth (the peer).
-- wrk ... -s cc_grant.lua URL -- CLIENT_ID CLIENT_SECRET [SCOPE]
-- (or env CLIENT_ID, CLIENT_SECRET, SCOPE)
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
script_name = "cc_grant"

function init(args)
  local scope = args[3] or os.getenv("SCOPE") or ""
  local body = "grant_type=client_credentials"
  if scope ~= "" then body = body .. "&scope=" .. urlencode(scope) end
  post_form(basic_auth(param(args, 1, "CLIENT_ID"), param(args, 2, "CLIENT_SECRET")), body)
end
