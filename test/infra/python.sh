#!/usr/bin/env bash
# The Python venv for the ai-service-python template (recipes/ai-service-python) and its tests:
# python3 -m venv at $DEVLOOP_PYTHON_VENV (default /var/cache/devloop-python/ai-service-venv),
# then pip install -r recipes/ai-service-python/requirements.txt (PyPI). The tests and the
# recipe's Devfile find it through DEVLOOP_PYTHON (the venv's bin/python). Idempotent: a stamp
# holding the requirements' checksum skips pip when nothing changed (about 0.1 s).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${DEVLOOP_PYTHON_VENV:-/var/cache/devloop-python/ai-service-venv}
req="$here/../../recipes/ai-service-python/requirements.txt"
stamp="$venv/.devloop-requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
  && "$venv/bin/python" -c 'import fastapi, uvicorn, prometheus_client, pytest' 2>/dev/null; then
  echo "[python] $venv is ready ($("$venv/bin/python" --version))" >&2
  exit 0
fi
command -v python3 >/dev/null || { echo "[python] python3 is not installed: apt-get install python3 python3-venv (3.11+)" >&2; exit 1; }
mkdir -p "$(dirname "$venv")"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
"$venv/bin/python" -c 'import fastapi, uvicorn, prometheus_client, pytest'
echo "$want" > "$stamp"
echo "[python] $venv ready: $("$venv/bin/python" -m pip freeze --disable-pip-version-check | grep -iE '^(fastapi|uvicorn|prometheus.client|httpx|pytest)==' | tr '\n' ' ')" >&2
