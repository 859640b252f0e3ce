"""Structured logs in Cloud Logging's JSON shape: one object a line on stdout, with `severity`,
`message` and `logging.googleapis.com/trace` (from traceparent or X-Cloud-Trace-Context), which
Cloud Run (and devloop) join to the request's trace."""
from __future__ import annotations

import json
import os
import re
import sys
from datetime import datetime, timezone
from typing import Any, Mapping

TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/\d+)?(?:;o=\d)?$")


def trace_id(headers: Mapping[str, str]) -> str | None:
    m = TRACEPARENT.match(headers.get("traceparent", "").strip())
    if m and m.group(1) != "0" * 32:
        return m.group(1)
    m = CLOUD_TRACE.match(headers.get("x-cloud-trace-context", "").strip())
    return m.group(1).lower() if m else None


def trace_field(trace: str | None) -> str | None:
    if not trace:
        return None
    project = os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("GCLOUD_PROJECT")
    return f"projects/{project}/traces/{trace}" if project else trace


def log(severity: str, message: str, trace: str | None = None, **fields: Any) -> None:
    entry: dict[str, Any] = {"severity": severity, "message": message, "time": datetime.now(timezone.utc).isoformat()}
    t = trace_field(trace)
    if t:
        entry["logging.googleapis.com/trace"] = t
    entry.update(fields)
    sys.stdout.write(json.dumps(entry, default=str) + "\n")
    sys.stdout.flush()
