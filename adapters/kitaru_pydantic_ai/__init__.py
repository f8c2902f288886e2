"""Kitaru adapter for Pydantic AI: ``DurableAgent``, ``KitaruDurability``, ``hitl_tool``.

Import the public names from ``kitaru.adapters.pydantic_ai``. This package's ``__init__`` imports
nothing, so loading the plugin (``_plugin.py``) never imports Pydantic AI.
"""
