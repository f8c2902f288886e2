"""Harness adapters, each importable as ``kitaru.adapters.<harness>``."""
