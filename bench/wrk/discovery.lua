-- GET the per-policy discovery document, as every portal does at start-up.
dofile(os.getenv("BENCH_LUA_COMMON"))
wrk.method = "GET"
wrk.path = os.getenv("BENCH_DISCOVERY")
