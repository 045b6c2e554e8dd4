"""Settings of the ingestion ceiling: Kaiku's settings, a one-view URLconf, no middleware.

Loaded only by bench/ingestion.py (DJANGO_SETTINGS_MODULE=bench.ceiling_settings), never by
the app. Same database configuration as Kaiku (connection reuse, SQLite pragmas), so the
ratio real path / ceiling measures what Kaiku adds on top of Django + granian + one insert.
"""

from kaiku.settings import *  # noqa: F403

ROOT_URLCONF = "bench.ceiling.urls"
MIDDLEWARE = []
