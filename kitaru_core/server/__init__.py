"""The Kitaru server: a REST API, live streams and a dashboard over any store.

Import :mod:`kitaru_core.server._app` (FastAPI) only when serving; token management
(:mod:`kitaru_core.server._tokens`) needs no web framework.
"""
