"""Kitaru's durable core: runtime, store, artifacts, serialization, hook spec, client and CLI.

Users import :mod:`kitaru`; this package holds the implementation in private modules.
"""
