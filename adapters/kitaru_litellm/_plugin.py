"""Hook implementations of the LiteLLM adapter (imports no harness)."""

EXTRA = "litellm"
REQUIRES = ("litellm",)
