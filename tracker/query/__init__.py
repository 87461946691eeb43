"""Queries as data, compiled to SQL for the index backends."""
