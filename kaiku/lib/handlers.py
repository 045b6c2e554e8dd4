"""The WSGI application: routes no logged-in user reaches get shorter middleware stacks.

Respondent pages, the widget and the two APIs never see a logged-in user: a
respondent is identified by the link, an integration by its key. Sessions,
authentication, CSRF (which protects cookie-borne authority), messages and static
files have nothing to do there, yet each costs every request its turn; on the
busiest path, an answer, they were ~10 % of the request (docs/performance.md).
So `application()` builds one Django handler per stack in
`settings.MIDDLEWARE_BY_PREFIX` and hands each request to the first whose path
prefix matches, else to the handler with the full `settings.MIDDLEWARE`.

The handlers share settings, URLconf and views; only the middleware differs.
Django's test client always uses the full stack (a superset), so the shorter
stacks are tested through `application()` itself (tests/test_handlers.py) and by
every test that runs real server processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class StackHandler(WSGIHandler):
    """Django's WSGI handler with the given middleware instead of settings.MIDDLEWARE."""

    def __init__(self, middleware: Sequence[str]) -> None:
        self.middleware = list(middleware)
        super().__init__()  # loads the middleware

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler reads settings.MIDDLEWARE; lend it this stack for the one call,
        # made while the application is built (one thread, before any request).
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = self.middleware
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


class PrefixRouter:
    """Each request to the first app whose path prefixes match, else to `default`."""

    def __init__(self, default: WSGIApp, routes: Sequence[tuple[tuple[str, ...], WSGIApp]]) -> None:
        self.default = default
        self.routes = [(tuple(prefixes), app) for prefixes, app in routes]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # PATH_INFO is the path below the mount point (SCRIPT_NAME), as URLconfs see it.
        path = environ.get("PATH_INFO", "")
        for prefixes, app in self.routes:
            if path.startswith(prefixes):
                return app(environ, start_response)
        return self.default(environ, start_response)


def application() -> PrefixRouter:
    """What kaiku.wsgi serves (Django set up first, like get_wsgi_application())."""
    django.setup(set_prefix=False)
    routes = [
        (prefixes, StackHandler(middleware))
        for prefixes, middleware in settings.MIDDLEWARE_BY_PREFIX
    ]
    return PrefixRouter(WSGIHandler(), routes)
