"""The server (app/serve.py, uvicorn) as a real process: SIGTERM while a request is in flight lets it finish, then exits 0."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sigterm_finishes_the_in_flight_request_and_exits_0():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "app.serve"], cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)
        result: dict = {}
        t = threading.Thread(target=lambda: result.update(r=httpx.post(f"{base}/agents/sleep/execute", json={"ms": 1500}, timeout=10)))
        t.start()
        # SIGTERM once the agent is running (its start is logged), not before.
        while not any('"agent sleep started"' in l for l in lines):
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        t.join(10)
        assert result["r"].status_code == 200
        assert result["r"].json() == {"result": {"slept": 1500}, "status": "completed", "run": "run-1"}
        assert proc.wait(10) == 0, "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    logs = [json.loads(l) for l in lines if l.startswith("{")]
    assert logs[-1]["message"].startswith("shut down"), "".join(lines)
