"""Waits: ``kitaru.wait()``, answering waits, the terminal prompt, validators rebuilt from JSON
schema.
"""
