"""Start one flow of ``record_flows`` (a module, so it is recorded as ``record_flows:<name>``)."""

from __future__ import annotations

import json
import sys

import record_flows

if __name__ == "__main__":
    print(json.dumps(getattr(record_flows, sys.argv[1])()))
