"""A tiny in-process agent framework: agents register, execute with a timeout, and agents that
subscribe to a topic run afterwards, in the background, on what an agent published."""
from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable


class AgentError(Exception):
    """An error the API answers with `status` (403 path outside the root, 400 bad task)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class Context:
    """What an agent gets besides its task: the folder it may read and the request's trace."""
    repo_root: str
    trace: str | None = None


@dataclass
class Agent:
    id: str
    description: str
    capabilities: list[str]
    execute: Callable[[dict[str, Any], Context], Awaitable[Any]]
    # Topics this agent consumes: it runs after an agent publishes one (see AgentFramework.coordinate).
    subscribes: list[str] = field(default_factory=list)
    # The topic this agent's result is published under, if any.
    publishes: str | None = None

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "description": self.description, "capabilities": self.capabilities}


@dataclass
class Run:
    id: str
    agent: str
    status: str
    started: float
    result: Any = None
    coordination: dict[str, Any] = field(default_factory=lambda: {"status": "none", "results": []})

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "agent": self.agent, "status": self.status, "result": self.result, "coordination": self.coordination}


class AgentFramework:
    def __init__(self) -> None:
        self._agents: dict[str, Agent] = {}
        self._ids = itertools.count(1)
        self.latest: Run | None = None
        # Background coordinations, kept referenced so they are not collected mid-run.
        self._tasks: set[asyncio.Task[None]] = set()

    def register(self, agent: Agent) -> None:
        if agent.id in self._agents:
            raise ValueError(f"agent {agent.id} is registered twice")
        self._agents[agent.id] = agent

    def get(self, agent_id: str) -> Agent | None:
        return self._agents.get(agent_id)

    def ids(self) -> list[str]:
        return list(self._agents)

    def all(self) -> list[Agent]:
        return list(self._agents.values())

    async def execute(self, agent: Agent, task: dict[str, Any], ctx: Context, timeout_s: float) -> Run:
        """Runs `agent`; raises asyncio.TimeoutError past `timeout_s`. Subscribers of what it
        publishes start in the background; the returned run records them as they finish."""
        run = Run(id=f"run-{next(self._ids)}", agent=agent.id, status="running", started=time.time())
        self.latest = run
        try:
            run.result = await asyncio.wait_for(agent.execute(task, ctx), timeout=timeout_s)
        except BaseException:
            run.status = "failed"
            raise
        run.status = "completed"
        if agent.publishes and self.subscribers(agent.publishes):
            run.coordination = {"status": "running", "results": []}
            t = asyncio.get_running_loop().create_task(self.coordinate(run, agent.publishes, ctx, timeout_s))
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)
        return run

    def subscribers(self, topic: str) -> list[Agent]:
        return [a for a in self._agents.values() if topic in a.subscribes]

    async def coordinate(self, run: Run, topic: str, ctx: Context, timeout_s: float) -> None:
        results = []
        for sub in self.subscribers(topic):
            try:
                output = await asyncio.wait_for(sub.execute({"topic": topic, "from": run.agent, "data": run.result}, ctx), timeout=timeout_s)
                results.append({"agent": sub.id, "status": "completed", "output": output})
            except Exception as err:  # one failing subscriber must not hide the others' results
                results.append({"agent": sub.id, "status": "failed", "error": str(err) or type(err).__name__})
        run.coordination = {"status": "done", "results": results}

    async def drain(self) -> None:
        """Waits for background coordinations (at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
