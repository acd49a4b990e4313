-- POST refresh_token grants, each with the refresh token the last answer returned (they
-- rotate: the old one is spent). One connection a thread, each with its own token family
-- from BENCH_TOKENS, so no token is ever sent twice.
dofile(os.getenv("BENCH_LUA_COMMON"))

local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do table.insert(tokens, line) end

function on_setup(thread, index)
  thread:set("refresh", tokens[index])
end

local path = os.getenv("BENCH_TOKEN")
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = "Basic " .. os.getenv("BENCH_PORTAL_AUTH"),
}

function request()
  return wrk.format("POST", path, headers, "grant_type=refresh_token&refresh_token=" .. refresh)
end

function response(status, headers, body)
  local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token then refresh = token else failures = failures + 1 end
end
