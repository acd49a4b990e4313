-- GET the signing keys (JWKS), as every portal and API does to check tokens.
dofile(os.getenv("BENCH_LUA_COMMON"))
wrk.method = "GET"
wrk.path = os.getenv("BENCH_JWKS")
