"""Suggestions and group placement: pure Python over plain data, no HTTP, no SQL."""
