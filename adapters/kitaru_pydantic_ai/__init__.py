"""Kitaru adapter for Pydantic AI."""
