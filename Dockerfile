# syntax=docker/dockerfile:1
#
# switchboard container image: the image the Helm chart (helm/switchboard)
# deploys by default, ghcr.io/switchboard/switchboard:<version>.
#
#   docker build -t ghcr.io/switchboard/switchboard:0.1.0 .
#   docker run --rm -p 50051:50051 -p 8080:8080 ghcr.io/switchboard/switchboard:0.1.0
#
# Runs as uid/gid 10001 and works with a read-only root filesystem: the only
# place it writes is the SQLite file in its working directory
# /var/lib/switchboard (mount a volume there, or use PostgreSQL).

# ---- build ------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src
# protox compiles the protos in build.rs: no protoc needed. TLS is rustls: no OpenSSL.
COPY . .
# The registry and target/ are BuildKit caches, so the binary is copied out of target/.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && install -D -m 0755 target/release/switchboard /out/switchboard

# ---- runtime ----------------------------------------------------------------
FROM debian:bookworm-slim AS runtime
# ca-certificates: vendor APIs and PostgreSQL over TLS are verified against the system roots.
# Not pinned (DL3008): Debian security updates replace old versions in the archive.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 switchboard \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /var/lib/switchboard --shell /usr/sbin/nologin switchboard \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/switchboard

COPY --from=builder /out/switchboard /usr/local/bin/switchboard

LABEL org.opencontainers.image.title="switchboard" \
      org.opencontainers.image.description="One typed gRPC API in front of contact-center vendor APIs" \
      org.opencontainers.image.licenses="Apache-2.0"

USER 10001:10001
WORKDIR /var/lib/switchboard
# In a container the listeners must not bind to loopback (the built-in default).
# Environment variables override the config file; the Helm chart sets these too.
ENV SWITCHBOARD__SERVER__GRPC_ADDR=0.0.0.0:50051 \
    SWITCHBOARD__SERVER__HTTP_ADDR=0.0.0.0:8080
# 50051: gRPC (h2c, or TLS with server.tls.*). 8080: webhooks, /healthz, /readyz, /metrics.
EXPOSE 50051 8080
ENTRYPOINT ["switchboard"]
CMD ["serve"]
