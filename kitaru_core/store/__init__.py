"""The store: records, the Store interface, the SQL store and its migrations, artifacts, values and
serialization.
"""
