"""The agents: `secrets` scans a folder for hard-coded credentials, `triage` summarizes what it
found (in the background), `echo` and `sleep` are for trying the API and its timeout."""
from __future__ import annotations

import asyncio
import os
import re
from typing import Any

from .framework import Agent, AgentError, AgentFramework, Context

# Rule id, severity, pattern. Keys are the usual giveaways; a real scanner has hundreds more.
RULES = [
    ("secrets/aws-access-key", "high", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("secrets/private-key", "high", re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----")),
    ("secrets/hard-coded-password", "medium", re.compile(r"(?i)\b(?:password|passwd|secret|api_?key)\b\s*[:=]\s*[\"'][^\"'\s]{8,}[\"']")),
]
SKIP_DIRS = {".git", "node_modules", ".venv", "__pycache__", ".devloop", "dist"}
MAX_FILE_BYTES = 1_000_000


def resolve_under(root: str, rel: str) -> str:
    """`rel` inside `root` (symlinks resolved), else a 403: agents read only under the root."""
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, rel))
    if target != real_root and not target.startswith(real_root + os.sep):
        raise AgentError(f"path {rel!r} is outside the allowed root {real_root} (set AGENTS_REPO_ROOT to widen it)", status=403)
    if not os.path.exists(target):
        raise AgentError(f"path {rel!r} does not exist under {real_root}", status=400)
    return target


def scan(folder: str) -> list[dict[str, Any]]:
    findings = []
    files = [folder] if os.path.isfile(folder) else []
    for d, dirs, names in os.walk(folder):
        dirs[:] = [x for x in dirs if x not in SKIP_DIRS]  # pruned in place: os.walk skips them
        files.extend(os.path.join(d, f) for f in names)
    base = folder if os.path.isdir(folder) else os.path.dirname(folder)
    for path in sorted(files):
        try:
            if os.path.getsize(path) > MAX_FILE_BYTES:
                continue
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        if b"\0" in data:
            continue  # binary
        for lineno, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            for rule, severity, pattern in RULES:
                for m in pattern.finditer(line):
                    findings.append({
                        "ruleId": rule, "severity": severity,
                        "file": os.path.relpath(path, base).replace(os.sep, "/"),
                        "line": lineno, "column": m.start() + 1,
                        "message": f"{rule.split('/')[1].replace('-', ' ')} in source: move it to a secret store",
                    })
    return findings


async def secrets(task: dict[str, Any], ctx: Context) -> dict[str, Any]:
    path = task.get("path", ".")
    if not isinstance(path, str):
        raise AgentError('"path" must be a string: a folder under the allowed root')
    folder = resolve_under(ctx.repo_root, path)
    # File I/O off the event loop, so health checks keep answering during a long scan.
    findings = await asyncio.to_thread(scan, folder)
    return {"expert": "secrets", "path": path, "findings": findings}


async def triage(task: dict[str, Any], ctx: Context) -> dict[str, Any]:
    findings = (task.get("data") or {}).get("findings", [])
    by_severity: dict[str, int] = {}
    by_rule: dict[str, int] = {}
    for f in findings:
        by_severity[f["severity"]] = by_severity.get(f["severity"], 0) + 1
        by_rule[f["ruleId"]] = by_rule.get(f["ruleId"], 0) + 1
    return {"total": len(findings), "bySeverity": by_severity, "byRule": by_rule,
            "first": sorted(findings, key=lambda f: (f["severity"] != "high", f["file"], f["line"]))[:5]}


async def echo(task: dict[str, Any], ctx: Context) -> Any:
    return task


async def sleep(task: dict[str, Any], ctx: Context) -> dict[str, Any]:
    ms = task.get("ms", 100)
    if not isinstance(ms, (int, float)) or ms < 0:
        raise AgentError('"ms" must be a non-negative number of milliseconds')
    await asyncio.sleep(ms / 1000)
    return {"slept": ms}


def default_framework() -> AgentFramework:
    fw = AgentFramework()
    fw.register(Agent("secrets", "Finds hard-coded credentials (AWS keys, private keys, passwords) in a folder", ["security", "scan"], secrets, publishes="findings"))
    fw.register(Agent("triage", "Counts and ranks the findings of a scan (runs after secrets, in the background)", ["triage"], triage, subscribes=["findings"]))
    fw.register(Agent("echo", "Answers with its task", ["debug"], echo))
    fw.register(Agent("sleep", 'Waits {"ms": N} milliseconds (to try timeouts)', ["debug"], sleep))
    return fw
