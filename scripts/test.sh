#!/usr/bin/env bash
# The whole test suite, as CI runs it: every test of the workspace (the library, with every
# feature, and approov-verifier), against the real redis-server, nginx, Envoy, Traefik and
# Caddy the tests start on loopback ports. Installs those first when missing
# (scripts/test-services.sh). Arguments go to `cargo test` (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/test-services.sh
source scripts/test-services.sh
cargo test --workspace --all-features "$@"
