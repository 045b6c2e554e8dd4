import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaiku.settings")

from kaiku.lib.handlers import application as _application

application = _application()
