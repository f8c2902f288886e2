"""The engine: one execution run in this process (runtime, runner, operation log, fingerprints,
context, cancel, leases, capture, finding a flow's code).
"""
