"""Security headers: a strict Content-Security-Policy on every response, with per-view overrides.

The policy allows scripts, styles, fonts and fetches from Kaiku's own origin
only, so an HTML injection that slipped past template escaping still cannot run
a script, load one from elsewhere, post a form to another site or frame the app.
No 'unsafe-inline' anywhere: templates keep their JavaScript in static files
(kaiku/static/kaiku/app.js wires `data-confirm`, `data-submit-on-change` and
`data-select-on-focus`), and the few inline styles that must stay are allowed
by their hash, view by view:

    response = render(request, "insights/report.html", context)
    csp_update(response, style_src=inline_style_sources(head_of(response)))

A view that sets its own `Content-Security-Policy` keeps it (the respondent
pages do: theirs is stricter still, with the brand colours' style hash).
`@embeddable` lets any site load or frame a response (the web widget).
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseBase

CSP_HEADER = "Content-Security-Policy"

# The policy of every app page. data: images are Chart.js's and Swagger UI's icons.
APP_POLICY: Mapping[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "font-src": ("'self'",),
    "connect-src": ("'self'",),
    "object-src": ("'none'",),
    "frame-ancestors": ("'none'",),
    "form-action": ("'self'",),
    "base-uri": ("'none'",),
}

# Browser features no Kaiku page uses; a script injected anyway cannot use them either.
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
    "interest-cohort=(), browsing-topics=()"
)

_UPDATES = "_kaiku_csp_updates"
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style>", re.S | re.I)
_STYLE_ATTRIBUTE = re.compile(r"""\sstyle\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)


def policy_header(policy: Mapping[str, Iterable[str]]) -> str:
    return "; ".join(" ".join([name, *sources]) for name, sources in policy.items())


def csp_update(response: HttpResponseBase, **directives: Iterable[str]) -> None:
    """Add sources to directives of this response's policy (`style_src=["'sha256-…'"]`).

    The middleware merges them into APP_POLICY when it writes the header.
    """
    updates: dict[str, list[str]] = getattr(response, _UPDATES, {})
    for name, sources in directives.items():
        bucket = updates.setdefault(name.replace("_", "-"), [])
        bucket.extend(source for source in sources if source not in bucket)
    setattr(response, _UPDATES, updates)


def sha256_source(text: str) -> str:
    """The CSP hash source of an inline style or script: `'sha256-<base64>'`."""
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def inline_style_sources(markup: str) -> list[str]:
    """Hash sources allowing the `<style>` blocks and `style=""` attributes of `markup`.

    Only for HTML Kaiku itself rendered from escaped values (an email preview,
    the report's head): hashing an attacker's markup would allow it. Style
    attributes need 'unsafe-hashes', which allows exactly the hashed values.
    """
    sources = [sha256_source(block) for block in _STYLE_BLOCK.findall(markup)]
    attributes = [double or single for double, single in _STYLE_ATTRIBUTE.findall(markup)]
    if attributes:
        sources.append("'unsafe-hashes'")
        # The browser hashes the attribute's value after entity decoding.
        sources.extend(sha256_source(html.unescape(value)) for value in attributes)
    return list(dict.fromkeys(sources))


def head_of(response: HttpResponseBase) -> str:
    """The document's <head>: only template text and escaped values live there."""
    content = getattr(response, "content", b"").decode(errors="replace")
    return re.split(r"<body\b", content, maxsplit=1, flags=re.I)[0]


ViewFunc = Callable[..., HttpResponseBase]


def embeddable(view: ViewFunc) -> ViewFunc:
    """Any site may frame or load this response (the widget's script and endpoints).

    Their own CORS and origin checks decide who may use them; the frame and
    resource policies must not get in the way of a customer's site.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response.xframe_options_exempt = True  # type: ignore[attr-defined]
        csp_update(response, frame_ancestors=["*"])
        return response

    return wrapper


class SecurityHeadersMiddleware:
    """Adds the app's Content-Security-Policy and Permissions-Policy to every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if CSP_HEADER not in response:
            response[CSP_HEADER] = policy_header(_policy_for(response))
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


def _policy_for(response: HttpResponseBase) -> dict[str, list[str]]:
    policy = {name: list(sources) for name, sources in APP_POLICY.items()}
    updates: dict[str, list[str]] = getattr(response, _UPDATES, {})
    for name, sources in updates.items():
        if name == "frame-ancestors":
            policy[name] = list(sources)  # replaces 'none' rather than joining it
            continue
        bucket = policy.setdefault(name, list(APP_POLICY["default-src"]))
        bucket.extend(source for source in sources if source not in bucket)
    return policy
