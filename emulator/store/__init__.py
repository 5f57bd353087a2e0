"""Persistence: the schema, the SQLite connection, fixtures."""
