"""Replay: new executions that reuse a source execution's operations."""
