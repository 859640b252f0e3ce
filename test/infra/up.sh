#!/usr/bin/env bash
# Brings up the test infrastructure: dockerd, the registry on 127.0.0.1:5001, and the
# base images devloop-test/busybox:latest and devloop-test/node:20, and the Prometheus,
# promtool and Alertmanager binaries (installed, never started), the Python venv of
# recipes/ai-service-python (python.sh), and the jaeger binary (built once from the Go module
# proxy, never started). Each step is idempotent and quick when everything is already up.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for step in docker registry images monitoring python jaeger; do
  t0=$(date +%s.%N)
  bash "$here/$step.sh"
  printf '[up] %s.sh done in %.1fs\n' "$step" "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" >&2
done
echo "[up] infrastructure ready" >&2
