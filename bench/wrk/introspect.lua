-- POST a person's access token to the introspection endpoint as the portal it was issued to.
dofile(os.getenv("BENCH_LUA_COMMON"))
wrk.method = "POST"
wrk.path = os.getenv("BENCH_INTROSPECT")
wrk.body = "token=" .. os.getenv("BENCH_ACCESS_TOKEN")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_PORTAL_AUTH")
