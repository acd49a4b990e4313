-- POST a client_credentials grant (client_secret_basic); the answer is an RS256 JWT
-- access token, recorded by the server.
dofile(os.getenv("BENCH_LUA_COMMON"))
wrk.method = "POST"
wrk.path = os.getenv("BENCH_TOKEN")
wrk.body = os.getenv("BENCH_CC_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_MACHINE_AUTH")
