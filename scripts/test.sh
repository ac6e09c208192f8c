#!/usr/bin/env bash
# The whole test suite: the README's test command, and what .ci/run runs.
# Installs what the tests need first, so it passes on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Some tests run workspace binaries (the fixture plant) inside network namespaces.
cargo build --workspace --bins --locked
cargo test --workspace --locked "$@"
