-- Shared by the bench scripts, loaded with dofile() in every wrk Lua state
-- (the setup/done state and each thread's own state).
-- Each thread counts in globals; done() sums them over all threads and prints
-- one JSON line starting with {"script": ...}.

local threads = {}

-- Thread ids are 1..n. wrk 4.1 runs each thread's init() right after its
-- setup(), before the next thread is set up, so init() cannot learn n here:
-- scripts that need it take it as an argument (checked in done()).
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

non2xx, bad_body, exhausted = 0, 0, 0

-- Set by a script to also check the body of 2xx responses (e.g. active:true).
body_ok = nil

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif body_ok and not body_ok(body) then
    bad_body = bad_body + 1
  end
end

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function base64(s)
  return ((s:gsub(".", function(c)
    local bits, b = "", c:byte()
    for i = 8, 1, -1 do bits = bits .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return bits
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return b64chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end

function basic_auth(id, secret)
  return "Basic " .. base64(urlencode(id) .. ":" .. urlencode(secret))
end

-- application/x-www-form-urlencoded value encoding (also used for Basic
-- credentials, as RFC 6749 section 2.3.1 requires).
function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- param(args, i, ENV_NAME): positional wrk script argument, else env variable.
function param(args, i, env)
  local v = args[i] or os.getenv(env)
  if not v or v == "" then
    error(string.format("missing script argument %d (or env %s)", i, env))
  end
  return v
end

function post_form(auth, body)
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = auth
end

function done(summary, latency, requests)
  local totals = { non2xx = 0, bad_body = 0, exhausted = 0 }
  local thread_mismatch = false
  for _, t in ipairs(threads) do
    for k in pairs(totals) do totals[k] = totals[k] + (t:get(k) or 0) end
    local n = t:get("nthreads")
    if n and n ~= #threads then thread_mismatch = true end
  end
  if thread_mismatch then
    io.stderr:write("ERROR: the script's thread-count argument differs from wrk -t\n")
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  print(string.format(
    '{"script":"%s","requests":%d,"duration_s":%.2f,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,'
      .. '"non2xx":%d,"bad_body":%d,"tickets_exhausted":%d,"thread_mismatch":%s,"errors":%d}',
    script_name, summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    totals.non2xx, totals.bad_body, totals.exhausted, tostring(thread_mismatch),
    e.connect + e.read + e.write + e.timeout))
end
