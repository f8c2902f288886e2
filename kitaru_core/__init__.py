"""Kitaru's durable core: runtime, store, artifacts, serialization, hook spec, client and CLI.

Users import :mod:`kitaru`; this package holds the implementation in private modules. Its
public modules are the extension points: ``hookspecs``, ``plugins``, ``errors``, ``toolkit``
(the adapter toolkit) and ``testing`` (the adapter contract test kit).
"""
