"""Start one flow of ``crash_flows`` (a module, so it is recorded as ``crash_flows:<name>``)."""

from __future__ import annotations

import asyncio
import inspect
import json
import sys

import crash_flows

if __name__ == "__main__":
    target = getattr(crash_flows, sys.argv[1])
    args = json.loads(sys.argv[2]) if len(sys.argv) > 2 else []
    result = target(*args)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    print(json.dumps(result))
