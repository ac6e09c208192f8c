#!/usr/bin/env bash
# The whole test suite: the README's test command, and what .ci/run runs.
# Installs what the tests need first, so it passes on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Some tests run workspace binaries (the fixture plant) inside network namespaces.
cargo build --workspace --bins --locked
cargo test --workspace --locked "$@"
# The library examples run against simulated plants on loopback; each asserts its result.
for example in parse_capture scan_subnet embed_sink; do
    cargo run --locked -q -p scanner-core --example "$example" >/dev/null
done
echo "examples: 3 passed, 0 failed"
