"""Kitaru adapter for LiteLLM (backs ``kitaru.llm()``)."""
