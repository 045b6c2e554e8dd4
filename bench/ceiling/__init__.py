"""The ingestion ceiling: a one-view Django app that inserts one row (bench/ingestion.py).

Its modules are loaded only by the bench's granian processes (DJANGO_SETTINGS_MODULE=
bench.ceiling.settings), never by Kaiku; this package imports nothing, so the bench registry
can list it safely.
"""
