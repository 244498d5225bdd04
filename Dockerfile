# DevPocket Sync. Build: docker build -t devpocket-sync .
# Run:   docker run -p 8000:8000 -e DATABASE_URL=… -e JWT_SECRET=… -e REDIS_URL=… devpocket-sync
# Or the whole stack: compose.yaml (README, Self-hosting).
FROM denoland/deno:2.9.6

WORKDIR /app
# The image's DENO_DIR (/deno-dir) holds the npm cache, which embedded mode reads PGlite's
# wasm from at start: owned by the user the service runs as.
RUN mkdir -p /app/data && chown -R deno:deno /app /deno-dir
USER deno
COPY --chown=deno:deno deno.json deno.lock ./
COPY --chown=deno:deno . .
# Resolve and type-check at build time, so a start never reaches the registry.
RUN deno install --frozen && deno check main.ts

# `deno task start` may write ./data only (deno.json): here /app/data, the volume.
VOLUME /app/data
ENV PORT=8000
EXPOSE 8000
# Liveness: the process answers. Readiness (/ready) is for the load balancer and compose.
HEALTHCHECK --interval=10s --timeout=3s CMD ["deno", "eval", "const r = await fetch('http://127.0.0.1:8000/health'); Deno.exit(r.ok ? 0 : 1)"]
# `deno task` forwards SIGTERM to the service, which drains within 10 s: keep the
# orchestrator's stop timeout above that (compose.yaml: stop_grace_period).
CMD ["deno", "task", "start"]
