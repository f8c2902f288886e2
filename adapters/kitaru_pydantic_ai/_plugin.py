"""Hook implementations of the Pydantic AI adapter (imports no harness)."""

EXTRA = "pydantic-ai"
REQUIRES = ("pydantic_ai",)
