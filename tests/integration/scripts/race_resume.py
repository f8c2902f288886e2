"""Resume an execution as soon as a start signal appears, to race another process doing the same.

Usage: race_resume.py EXEC_ID READY_FILE GO_FILE. Exit 0 after completing it, 3 when refused.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from kitaru import InvalidExecutionState, KitaruClient

if __name__ == "__main__":
    exec_id, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    client = KitaruClient()
    ready.touch()
    deadline = time.monotonic() + 20
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("no start signal within 20 s")
        time.sleep(0.0005)
    try:
        handle = client.executions.resume(exec_id)
    except InvalidExecutionState as exc:  # ExecutionBusy is one too
        print(json.dumps({"refused": type(exc).__name__, "message": str(exc)}))
        sys.exit(3)
    print(json.dumps({"result": handle.wait(), "status": handle.status}))
