"""The API through FastAPI's TestClient (httpx), on a planted folder of fake credentials."""
import json
import time

import pytest
from fastapi.testclient import TestClient

from app.agents import default_framework
from app.framework import Agent
from app.main import create_app

AWS = "AKIA" + "IOSFODNN7EXAMPLE"  # split so this file is no finding itself
PEM = "-----BEGIN RSA " + "PRIVATE KEY-----"


@pytest.fixture
def root(tmp_path):
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "config.py").write_text(f"REGION = 'eu'\nKEY_ID = '{AWS}'\n")
    (repo / "deploy.pem").write_text(f"{PEM}\nMIIEexample\n")
    (repo / "README.md").write_text("nothing to see\n")
    (tmp_path / "outside.txt").write_text(AWS)
    return repo


@pytest.fixture
def client(root):
    fw = default_framework()

    async def boom(task, ctx):
        raise RuntimeError("the model is down")

    fw.register(Agent("boom", "Always fails", ["test"], boom))
    with TestClient(create_app(fw, repo_root=str(root))) as c:
        yield c


def test_health_agents_version(client):
    assert client.get("/health").json() == {"status": "healthy", "agents": 5}
    ids = [a["id"] for a in client.get("/agents").json()["agents"]]
    assert ids == ["secrets", "triage", "echo", "sleep", "boom"]
    assert client.get("/version").json()["version"] == "0.1.0"


def test_echo(client):
    r = client.post("/agents/echo/execute", json={"hello": "world"})
    assert r.status_code == 200
    assert r.json()["result"] == {"hello": "world"}
    assert r.json()["status"] == "completed"


def test_secrets_findings_and_triage_in_background(client, capsys):
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    r = client.post("/agents/secrets/execute", json={"path": "."}, headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"})
    assert r.status_code == 200, r.text
    found = [(f["file"], f["line"], f["column"], f["ruleId"]) for f in r.json()["result"]["findings"]]
    assert found == [("deploy.pem", 1, 1, "secrets/private-key"), ("src/config.py", 2, 11, "secrets/aws-access-key")]
    deadline = time.monotonic() + 5
    while True:
        run = client.get("/runs/latest").json()
        if run["coordination"]["status"] == "done" or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert run["id"] == r.json()["run"]
    triage = run["coordination"]["results"][0]
    assert triage["agent"] == "triage" and triage["output"]["total"] == 2
    assert triage["output"]["bySeverity"] == {"high": 2}
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines() if l.startswith("{")]
    done = [l for l in lines if l["message"] == "agent secrets completed"]
    assert done and done[0]["logging.googleapis.com/trace"].endswith(trace)
    assert done[0]["severity"] == "INFO"


def test_cloud_trace_header(client, capsys, monkeypatch):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo")
    client.post("/agents/echo/execute", json={}, headers={"x-cloud-trace-context": "105445AA7843BC8BF206B12000100000/1;o=1"})
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines() if l.startswith("{")]
    assert any(l.get("logging.googleapis.com/trace") == "projects/demo/traces/105445aa7843bc8bf206b12000100000" for l in lines)


def test_errors(client):
    unknown = client.post("/agents/ghost/execute", json={})
    assert unknown.status_code == 404
    assert unknown.json()["agents"] == ["secrets", "triage", "echo", "sleep", "boom"]
    assert "known agents are secrets" in unknown.json()["error"]

    bad = client.post("/agents/echo/execute", content=b"not json", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and "not JSON" in bad.json()["error"]
    not_object = client.post("/agents/echo/execute", json=[1, 2])
    assert not_object.status_code == 400
    bad_query = client.post("/agents/echo/execute?timeoutMs=soon", json={})
    assert bad_query.status_code == 400 and "timeoutMs" in bad_query.json()["error"]

    boom = client.post("/agents/boom/execute", json={})
    assert boom.status_code == 500 and "the model is down" in boom.json()["error"]

    slow = client.post("/agents/sleep/execute?timeoutMs=100", json={"ms": 5000})
    assert slow.status_code == 504 and slow.json()["status"] == "timeout"

    outside = client.post("/agents/secrets/execute", json={"path": "../outside.txt"})
    assert outside.status_code == 403 and "outside the allowed root" in outside.json()["error"]


def test_metrics(client):
    client.post("/agents/echo/execute", json={})
    client.post("/agents/ghost/execute", json={})
    client.post("/agents/sleep/execute?timeoutMs=50", json={"ms": 1000})
    text = client.get("/metrics").text
    assert 'http_requests_total{method="POST",route="/agents/{agent_id}/execute",status="404"} 1.0' in text
    assert 'agent_execution_seconds_count{agent="echo",outcome="completed"} 1.0' in text
    assert 'agent_execution_seconds_count{agent="sleep",outcome="timeout"} 1.0' in text


def test_runs_latest_before_any_run(client):
    assert client.get("/runs/latest").status_code == 404
