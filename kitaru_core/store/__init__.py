"""The store: records, the Store interface, the SQL store and its migrations, artifacts, values and
serialization.
"""

from kitaru_core.store._store import Store

__all__ = ["Store"]
