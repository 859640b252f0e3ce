"""The HTTP API: POST /agents/{agent_id}/execute, GET /agents, /health, /version, /runs/latest,
/metrics. `uvicorn app.main:app` serves it; uvicorn handles SIGTERM by closing the listener and
letting in-flight requests finish, then runs the lifespan shutdown (which waits for background
coordinations)."""
from __future__ import annotations

import asyncio
import json
import os
import time
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from . import version as version_module
from .agents import default_framework
from .framework import AgentError, AgentFramework, Context
from .logs import log, trace_id
from .metrics import Metrics


def create_app(framework: AgentFramework | None = None, repo_root: str | None = None, timeout_ms: float | None = None) -> FastAPI:
    fw = framework or default_framework()
    root = repo_root or os.environ.get("AGENTS_REPO_ROOT") or os.getcwd()
    default_timeout_ms = timeout_ms if timeout_ms is not None else float(os.environ.get("AGENT_TIMEOUT_MS", "30000"))
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        log("INFO", f"ai-service-python {version_module.VERSION} serving {len(fw.ids())} agents", agents=fw.ids(), root=root)
        yield
        await fw.drain()
        log("INFO", "shut down: in-flight requests and coordinations finished")

    app = FastAPI(title="ai-service-python", lifespan=lifespan)
    app.state.framework = fw
    app.state.metrics = metrics

    @app.middleware("http")
    async def count(request: Request, call_next):
        response = await call_next(request)
        route = request.scope.get("route")
        metrics.requests.labels(getattr(route, "path", "unmatched"), request.method, str(response.status_code)).inc()
        return response

    # FastAPI answers a bad query parameter with 422; clients of this API get 400 and a sentence.
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in err.errors())
        return JSONResponse({"error": f"invalid request: {problems}"}, status_code=400)

    @app.get("/health")
    async def health():
        return {"status": "healthy", "agents": len(fw.ids())}

    @app.get("/version")
    async def version():
        return {"version": version_module.VERSION, "revision": os.environ.get("K_REVISION", "local")}

    @app.get("/agents")
    async def agents():
        return {"agents": [a.describe() for a in fw.all()]}

    @app.get("/runs/latest")
    async def latest():
        if fw.latest is None:
            return JSONResponse({"error": "no agent has run yet: POST /agents/{id}/execute first"}, status_code=404)
        return fw.latest.to_json()

    @app.get("/metrics")
    async def prometheus():
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/agents/{agent_id}/execute")
    async def execute(agent_id: str, request: Request, timeout_ms: float | None = Query(None, alias="timeoutMs", gt=0)):
        trace = trace_id(request.headers)
        agent = fw.get(agent_id)
        if agent is None:
            return JSONResponse({"error": f"unknown agent {agent_id!r}: known agents are {', '.join(fw.ids())}", "agents": fw.ids()}, status_code=404)
        raw = await request.body()
        try:
            task: Any = json.loads(raw) if raw.strip() else {}
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            return JSONResponse({"error": f"the request body is not JSON ({err}): send a JSON object, e.g. {{\"path\": \".\"}}"}, status_code=400)
        if not isinstance(task, dict):
            return JSONResponse({"error": f"the request body must be a JSON object, not {type(task).__name__}"}, status_code=400)
        timeout_s = (timeout_ms or default_timeout_ms) / 1000
        started = time.perf_counter()
        outcome = "failed"
        log("INFO", f"agent {agent_id} started", trace, agent=agent_id)
        try:
            run = await fw.execute(agent, task, Context(repo_root=root, trace=trace), timeout_s)
            outcome = "completed"
        except asyncio.TimeoutError:
            outcome = "timeout"
            log("WARNING", f"agent {agent_id} timed out after {timeout_s:g} s", trace, agent=agent_id)
            return JSONResponse({"error": f"agent {agent_id} did not finish within {timeout_s * 1000:g} ms (raise ?timeoutMs= or AGENT_TIMEOUT_MS)", "status": "timeout"}, status_code=504)
        except AgentError as err:
            log("WARNING", f"agent {agent_id} refused the task: {err}", trace, agent=agent_id)
            return JSONResponse({"error": str(err), "status": "failed"}, status_code=err.status)
        except Exception as err:
            log("ERROR", f"agent {agent_id} failed: {type(err).__name__}: {err}", trace, agent=agent_id)
            return JSONResponse({"error": f"agent {agent_id} failed: {type(err).__name__}: {err}", "status": "failed"}, status_code=500)
        finally:
            metrics.agent_seconds.labels(agent_id, outcome).observe(time.perf_counter() - started)
        log("INFO", f"agent {agent_id} completed", trace, agent=agent_id, run=run.id)
        return {"result": run.result, "status": "completed", "run": run.id}

    return app


app = create_app()
