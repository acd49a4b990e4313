-- GET userinfo with a signed-in person's access token.
dofile(os.getenv("BENCH_LUA_COMMON"))
wrk.method = "GET"
wrk.path = os.getenv("BENCH_USERINFO")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_ACCESS_TOKEN")
