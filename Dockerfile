# Builds the /cnb/lifecycle image: a static `lifecycle` multi-call binary with its phase
# symlinks and a separate static `launcher`.
#
# Status: PLACEHOLDER until the packaging issue. It describes the intended layout; it is not
# built in CI (no Docker engine runs on our CI machines). The static build itself is
# exercised by .ci/run (see README "Static binaries").
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN RUSTFLAGS='-C target-feature=+crt-static' \
    cargo build --release --locked --target x86_64-unknown-linux-gnu -p lifecycle \
 && mkdir -p /out/cnb/lifecycle \
 && cp target/x86_64-unknown-linux-gnu/release/lifecycle target/x86_64-unknown-linux-gnu/release/launcher /out/cnb/lifecycle/ \
 && cd /out/cnb/lifecycle \
 && for p in analyzer detector restorer builder exporter rebaser creator extender; do ln -s lifecycle "$p"; done

FROM scratch
COPY --from=build /out/cnb /cnb
WORKDIR /layers
ENTRYPOINT ["/cnb/lifecycle/lifecycle"]
