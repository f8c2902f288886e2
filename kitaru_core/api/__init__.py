"""What flow code calls: ``@flow``, ``@checkpoint``, ``log``, ``save``, ``load``,
``idempotency_key``.
"""
