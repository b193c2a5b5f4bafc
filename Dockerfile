# vox-host as a container image: `docker build -t vox-host .` (docs/OPERATIONS.md,
# "Run it in a container"). Two stages: the build (dependencies in a layer of
# their own, so a change of our code rebuilds only our crates) and a distroless
# runtime with the one binary, run as a non-root user.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependency cache layer: the manifests and the lock file with stub sources, built
# once; it is reused until a manifest or Cargo.lock changes.
COPY Cargo.toml Cargo.lock ./
COPY host/Cargo.toml host/
COPY bot/Cargo.toml bot/
COPY crates/report-store/Cargo.toml crates/report-store/
COPY crates/redis-server/Cargo.toml crates/redis-server/
COPY plugins/api/Cargo.toml plugins/api/
COPY plugins/main-menu/Cargo.toml plugins/main-menu/
COPY plugins/my-reports/Cargo.toml plugins/my-reports/
COPY tests/Cargo.toml tests/
COPY tests/fake-api/Cargo.toml tests/fake-api/
RUN for dir in host crates/report-store crates/redis-server plugins/api plugins/main-menu \
        plugins/my-reports tests tests/fake-api; do \
      mkdir -p "$dir/src" && : > "$dir/src/lib.rs"; \
    done \
    && mkdir -p bot/src tests/tests/e2e host/benches crates/report-store/benches tests/benches \
    && echo 'fn main() {}' > bot/src/main.rs \
    && for f in tests/tests/e2e/main.rs host/benches/update_path.rs host/benches/state_store.rs \
        crates/report-store/benches/storage.rs tests/benches/reload.rs tests/benches/throughput.rs; do \
      echo 'fn main() {}' > "$f"; \
    done \
    && cargo build --release --locked -p vox-bot \
    && rm -rf bot/src host/src crates/*/src plugins/*/src tests/src tests/fake-api/src
# Our code; the stubs' artifacts are older than it, so only our crates rebuild.
COPY . .
RUN find host bot crates plugins tests -name '*.rs' -exec touch {} + \
    && cargo build --release --locked -p vox-bot \
    && install -D -m 0755 target/release/vox-host /out/vox-host

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/vox-host /usr/local/bin/vox-host
# The config directory (vox-host.toml; the host writes rollout-override.json
# beside it) and the data directory (state.sqlite3, the reports by default).
ENV VOX_CONFIG=/etc/vox-host/vox-host.toml \
    VOX__HOST__DATA_DIR=/var/lib/vox-host \
    VOX__OPS__LISTEN=0.0.0.0:9090
VOLUME ["/etc/vox-host", "/var/lib/vox-host"]
# distroless' nonroot user, by number (a name may not resolve on the host).
USER 65532:65532
# /healthz and /metrics; the webhook listener in webhook mode.
EXPOSE 9090 8443
# The host finishes the updates in flight on SIGTERM; give it `docker stop -t 30`.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/vox-host", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/vox-host"]
CMD ["run"]
