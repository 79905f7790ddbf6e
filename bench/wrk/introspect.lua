-- Token introspection (RFC 7662) of one token, repeated.
-- wrk ... -s introspect.lua URL -- TOKEN AUTHORIZATION_HEADER_VALUE
-- (or env TOKEN, AUTHORIZATION), e.g. "Basic ..." for the peer and
-- "Bearer <PAT>" for ours.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
script_name = "introspect"

-- An inactive token still answers 200, so count those separately.
body_ok = function(body) return body:find('"active"%s*:%s*true') ~= nil end

function init(args)
  post_form(param(args, 2, "AUTHORIZATION"), "token=" .. urlencode(param(args, 1, "TOKEN")))
end
