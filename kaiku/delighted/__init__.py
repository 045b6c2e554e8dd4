"""A Delighted-compatible API (/delighted/v1/) and Delighted's webhook payloads."""
