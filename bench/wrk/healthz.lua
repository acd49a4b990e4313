-- GET /healthz: no protocol work at all, so its figure is the floor under every other
-- scenario (gunicorn, Flask's request context, the hooks every request runs, the headers).
dofile(os.getenv("BENCH_LUA_COMMON"))
wrk.method = "GET"
wrk.path = "/healthz"
