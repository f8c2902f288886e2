"""``kitaru.llm()`` and the bookkeeping every model call shares."""
