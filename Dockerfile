# DevPocket Sync. Build: docker build -t devpocket-sync .
# Run:   docker run -p 8000:8000 -e DATABASE_URL=… -e JWT_SECRET=… -e REDIS_URL=… devpocket-sync
FROM denoland/deno:2.9.6

WORKDIR /app
COPY deno.json deno.lock ./
COPY . .
# Resolve and type-check at build time, so a start never reaches the registry.
RUN deno install --frozen && deno check main.ts

ENV DATA_DIR=/data PORT=8000
RUN mkdir -p /data && chown deno:deno /data
VOLUME /data
USER deno
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD ["deno", "eval", "const r = await fetch('http://127.0.0.1:8000/health'); Deno.exit(r.ok ? 0 : 1)"]
CMD ["deno", "task", "start"]
