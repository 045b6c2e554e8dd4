"""The route sweep: every URL of the app, as an outsider, a stranger and another workspace's key.

The routes are read from the URL resolver, recursively: the app's pages, the
REST API (django-ninja registers its operations as Django URL patterns under
/api/v1/), the Delighted-compatible API under /delighted/v1/, the respondent
pages, the widget and Django's admin. A route added later is swept without
touching this file, and the sweep fails loudly if it cannot fill a new route's
parameters with one of Acme's real objects (name them `<int:<model>_id>`).

Acme (Alice's workspace) is seeded with CANARY in every text (test_security_base.py).
For every route and method (GET, POST; PATCH and DELETE on the two APIs):

- a stranger (no session) is sent to log in or refused (302/401/403/404/405),
  unless the route is in PUBLIC_ROUTES, the list of routes meant for the
  public, each with its reason;
- Charlie (owner of Globex, not a member of Acme) gets 404 under /w/acme/ and
  never Acme's data anywhere;
- Charlie's API key, as Bearer on /api/v1/ and as Basic on /delighted/v1/,
  answers for one of Acme's ids exactly as for an id that does not exist, and
  never shows Acme's data; on the app's pages a key counts for nothing;
- after all of that, Acme has exactly the rows it had.

Supersedes tests/test_isolation.py (the /w/<slug>/ outsider sweep).
"""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core.cache import cache
from django.core.exceptions import FieldError
from django.db import models
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern

from kaiku.accounts.models import Membership, Role
from kaiku.api.actions import create_api_key
from kaiku.api.models import Scope
from tests.base import BaseTestCase
from tests.test_api_base import LOCMEM_CACHE
from tests.test_security_base import CANARY, Acme, acme_rows, seed_acme

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

# Routes anyone may use without logging in, and why. Keys are route patterns as
# the resolver spells them (see all_routes()). A route not listed here that
# answers 2xx to a stranger fails the sweep.
PUBLIC_ROUTES: dict[str, str] = {
    # Respondents: the unguessable token in the URL is the credential (docs/collect.md).
    "r/<str:token>/": "email invitation's answer page",
    "r/<str:token>/comment/": "email invitation's follow-up question",
    "r/<str:token>/thanks/": "email invitation's thank-you page",
    "s/<str:public_id>/": "public survey link, open to anyone by design",
    "s/<str:public_id>/<str:edit_token>/": "public link's follow-up, by its edit token",
    "s/<str:public_id>/<str:edit_token>/thanks/": "public link's thank-you page",
    "k/<str:key>/": "kiosk device page, by the device's key",
    "k/<str:key>/<str:edit_token>/": "kiosk follow-up question",
    "k/<str:key>/<str:edit_token>/thanks/": "kiosk thank-you page",
    "u/<str:token>/": "one-click unsubscribe from an email (RFC 8058), by invitation token",
    "o/<str:token>.gif": "email open-tracking pixel, by invitation token",
    # The web widget runs on customers' sites: origin-checked CORS, no cookies (docs/widget.md).
    "widget/v1/kaiku.js": "the widget script",
    "widget/v1/surveys/<str:public_id>/eligibility": "widget: show the prompt or not",
    "widget/v1/surveys/<str:public_id>/responses": "widget: record an answer",
    # Read-only dashboard link, by its token (only its hash is stored).
    "shared/<str:token>/": "shared dashboard link: figures only, no comments or identities",
    # Logging in and its neighbours.
    "accounts/login/": "the login form",
    "accounts/password-reset/": "asks for a reset email; says the same for every address",
    "accounts/password-reset/sent/": "static 'check your email' page",
    "accounts/reset/<uidb64>/<token>/": "password reset link, by its signed token",
    "accounts/reset/done/": "static 'password changed' page",
    "accounts/invitations/<str:token>/": "teammate invitation link, by its token",
    "i18n/setlang/": "Django's language switch (a cookie, nothing else)",
    "admin/login/": "Django admin's own login form (staff only past it)",
    # The API's description: no data, the same for everyone.
    "api/v1/openapi.json": "OpenAPI schema of the REST API",
    "api/v1/docs": "Swagger UI for the schema",
    # Operations.
    "healthz": "load balancer health check: up or not, nothing else",
}

# Parameters that are not `<model>_id`: the values to try (callables take Acme).
PARAMETER_VALUES: dict[str, Callable[[Acme], list[str]]] = {
    "workspace_slug": lambda acme: ["acme"],
    # Delighted identifies people by email, id or external id.
    "identifier": lambda acme: [acme.contact.email or "", str(acme.contact.pk)],
    "platform": lambda acme: ["email", "sms"],
    "name": lambda acme: ["responses", "contacts"],  # /w/<slug>/export/<name>.<fmt>
    "fmt": lambda acme: ["csv", "json"],
    # Django admin: any object; the admin lets only staff in.
    "app_label": lambda acme: ["accounts"],
    "object_id": lambda acme: ["1"],
    "content_type_id": lambda acme: ["1"],
    "url": lambda acme: ["x"],
}
# Parameter names that do not spell their model's name.
ALIASES = {
    "member": "accounts.membership",
    "key": "api.apikey",
    "webhook": "webhooks.webhookendpoint",
}
MISSING_ID = "987654321"
# Object parameters without `_id`, and a value that names no object.
MISSING_VALUES = {"identifier": "nobody.missing@globex.example"}
PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
WORKSPACE_PREFIX = "w/<slug:workspace_slug>/"
API_PREFIX = "api/v1/"
DELIGHTED_PREFIX = "delighted/v1/"
ADMIN_PREFIX = "admin/"
REFUSED = {302, 401, 403, 404, 405}
LOGIN_PAGES: tuple[str, ...] = ("/accounts/login/", "/admin/login/")
PROTECT_OR_LIST = (
    "answered {status} to a stranger: protect it (login_required and an access helper, or"
    " the API's key auth), or, if it is meant to be public, add it to PUBLIC_ROUTES in"
    " tests/test_security_routes.py with the reason"
)
REFUSE_FIRST = (
    "outsiders must get 404 before anything else: call the access helper first, then check"
    " the method (HttpResponseNotAllowed) and parse the input"
)


# --- Enumerating the routes -----------------------------------------------------------


@dataclass(frozen=True)
class Route:
    pattern: str  # e.g. "w/<slug:workspace_slug>/team/members/<int:member_id>/role/"
    callback: Callable[..., Any]

    @property
    def is_public(self) -> bool:
        return self.pattern.rstrip("/") in {p.rstrip("/") for p in PUBLIC_ROUTES}

    @property
    def kind(self) -> str:
        for prefix, kind in (
            (WORKSPACE_PREFIX, "workspace"),
            (API_PREFIX, "api"),
            (DELIGHTED_PREFIX, "delighted"),
            (ADMIN_PREFIX, "admin"),
        ):
            if self.pattern.startswith(prefix):
                return kind
        return "other"

    @property
    def methods(self) -> tuple[str, ...]:
        if self.kind in ("api", "delighted"):
            return ("get", "post", "patch", "delete")
        return ("get", "post")

    @property
    def names_objects(self) -> bool:
        return any(is_object(m.group("name")) for m in PARAMETER.finditer(self.pattern))


def all_routes() -> list[Route]:
    routes: dict[str, Route] = {}
    for pattern, callback in _walk(get_resolver().url_patterns, ""):
        routes.setdefault(pattern, Route(pattern, callback))
    return sorted(routes.values(), key=lambda r: r.pattern)


def _walk(
    entries: list[URLPattern | URLResolver], prefix: str
) -> Iterator[tuple[str, Callable[..., Any]]]:
    for entry in entries:
        route = prefix + _route_of(entry)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        else:
            yield route, entry.callback


def _route_of(entry: URLPattern | URLResolver) -> str:
    pattern = entry.pattern
    if isinstance(pattern, RoutePattern):
        return str(pattern)
    if isinstance(pattern, RegexPattern):
        # re_path(): named groups become <name>; optional suffixes (`(?:\.json)?`, `/?`)
        # are dropped; `\.` is a dot. The sweep checks that each URL resolves back.
        regex = str(pattern).lstrip("^").removesuffix("$").replace("\\Z", "")
        regex = re.sub(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", r"<\1>", regex)
        regex = re.sub(r"\(\?:[^()]*\)\?", "", regex)
        return regex.replace("/?", "/").replace("\\.", ".")
    return str(pattern)


# --- Filling parameters with Acme's objects --------------------------------------------


def models_for(parameter: str) -> list[type[models.Model]]:
    """Models a parameter such as `survey_id` or `invitation_id` names."""
    stem = parameter.removesuffix("_id").replace("_", "")
    if stem in ALIASES:
        return [apps.get_model(ALIASES[stem])]
    return [
        model
        for model in apps.get_models()
        if model._meta.model_name == stem or str(model._meta.model_name).endswith(stem)
    ]


def acme_id(model: type[models.Model], workspace_id: int) -> int | None:
    """The id of one of the workspace's rows of `model`, found through a foreign key path."""
    for lookup in (
        "workspace",
        "survey__workspace",
        "contact__workspace",
        "response__workspace",
        "member__workspace",
        "case__workspace",
        "endpoint__workspace",
        "delivery__endpoint__workspace",
        "theme__workspace",
    ):
        try:
            row = model._default_manager.filter(**{lookup: workspace_id}).first()
        except FieldError:  # the model has no such path; try the next one
            continue
        if row is not None:
            return int(row.pk)
    return None


def fill(route: Route, acme: Acme, *, missing: bool = False) -> list[str]:
    """URLs for a route: each parameter takes each of its values (usually one).

    With `missing`, ids are replaced by an id that exists nowhere.
    """
    names, choices = [], []
    for match in PARAMETER.finditer(route.pattern):
        names.append(match.group(0))
        choices.append(values_for(route, match.group("converter"), match.group("name"), acme))
    urls = []
    for combination in itertools.product(*choices):
        url = route.pattern
        for placeholder, value in zip(names, combination, strict=True):
            name = PARAMETER.fullmatch(placeholder).group("name")  # type: ignore[union-attr]
            if missing and is_object(name):
                value = MISSING_VALUES.get(name, MISSING_ID)
            url = url.replace(placeholder, value, 1)
        urls.append("/" + url)
    return urls


def is_object(parameter: str) -> bool:
    return parameter.endswith("_id") or parameter in MISSING_VALUES


def values_for(route: Route, converter: str | None, name: str, acme: Acme) -> list[str]:
    if name in PARAMETER_VALUES:
        return PARAMETER_VALUES[name](acme)
    if route.is_public:
        # Public routes take tokens; a made-up one must lead nowhere, quietly.
        return ["x" * 22]
    if name.endswith("_id") and route.kind != "admin":
        workspace_id = acme.survey.workspace_id
        ids = {acme_id(model, workspace_id) for model in models_for(name)} - {None}
        assert ids, (
            f"{route.pattern}: no Acme row for <{name}>. Name the parameter <model>_id (or add"
            " an alias to ALIASES) and create a row in seed_acme() (tests/test_security_base.py)"
        )
        return sorted(str(i) for i in ids)
    assert converter in ("int", "path", None) or name in PARAMETER_VALUES, (
        f"{route.pattern}: the sweep does not know what to put in <{name}>;"
        " add it to PARAMETER_VALUES in tests/test_security_routes.py"
    )
    return ["1"]


# --- The sweep ------------------------------------------------------------------------------


def basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"{token}:".encode()).decode()


def contains_canary(response: TestResponse) -> bool:
    content = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    headers = " ".join(f"{k}: {v}" for k, v in response.items())
    text = (content + headers.encode()).decode(errors="replace").lower()
    return CANARY.lower() in text


@override_settings(CACHES=LOCMEM_CACHE, API_RATE_LIMIT_PER_MINUTE=0, LOGIN_RATE_LIMIT=0)
class RouteSweepTest(BaseTestCase):
    acme: Acme
    charlies_token: str

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.acme = seed_acme(cls.workspace, cls.alice, cls.survey)
        _, cls.charlies_token = create_api_key(
            cls.charlies_workspace, "Globex CRM", Scope.READ_WRITE, None, cls.charlie
        )
        Membership.objects.filter(user=cls.bob).update(role=Role.AGENT)

    def setUp(self) -> None:
        super().setUp()
        cache.clear()

    def request(
        self, client: Client, method: str, url: str, headers: dict[str, str] | None = None
    ) -> TestResponse:
        kwargs: dict[str, Any] = {"headers": headers or {}}
        if method != "get":
            kwargs.update(data="{}", content_type="application/json")
        response: TestResponse = getattr(client, method)(url, **kwargs)
        assert response.status_code < 500, f"{method.upper()} {url}: {response.status_code}"
        return response

    def as_charlie(self) -> Client:
        client = Client()
        client.force_login(self.charlie)
        return client

    # --- The sweep sees everything -----------------------------------------------------

    def test_the_sweep_sees_every_kind_of_route(self) -> None:
        patterns = {route.pattern for route in all_routes()}
        for expected in (
            "w/<slug:workspace_slug>/team/members/<int:member_id>/role/",
            "api/v1/surveys/<int:survey_id>",
            "api/v1/contacts/<int:contact_id>",
            "delighted/v1/people/<identifier>/survey_requests/pending/",
            "delighted/v1/survey_responses/<response_id>/",
            "widget/v1/kaiku.js",
            "r/<str:token>/",
            "admin/login/",
        ):
            assert expected in patterns, sorted(patterns)

    def test_each_url_it_builds_reaches_its_route(self) -> None:
        for route in all_routes():
            for url in fill(route, self.acme):
                with self.subTest(url=url):
                    assert resolve(url).func == route.callback, route.pattern

    def test_api_ids_are_real_acme_objects(self) -> None:
        routes = {route.pattern: route for route in all_routes()}
        assert fill(routes["api/v1/contacts/<int:contact_id>"], self.acme) == [
            f"/api/v1/contacts/{self.acme.contact.pk}"
        ]
        member = Membership.objects.get(user=self.alice)
        pattern = WORKSPACE_PREFIX + "team/members/<int:member_id>/role/"
        assert fill(routes[pattern], self.acme) == [f"/w/acme/team/members/{member.pk}/role/"]

    # --- Strangers ---------------------------------------------------------------------

    def test_a_stranger_gets_only_the_public_routes(self) -> None:
        before = acme_rows(self.workspace.pk)
        for route in all_routes():
            for url in fill(route, self.acme):
                for method in route.methods:
                    with self.subTest(route=route.pattern, method=method):
                        response = self.request(Client(), method, url)
                        assert not contains_canary(response), f"{url} shows Acme's data"
                        if route.is_public:
                            continue
                        assert response.status_code in REFUSED, (
                            f"{method.upper()} {url} " + PROTECT_OR_LIST
                        ).format(status=response.status_code)
                        if response.status_code == 302:
                            # The admin's logout goes to the admin's index, which asks to log in.
                            pages = (
                                (*LOGIN_PAGES, "/admin/") if route.kind == "admin" else LOGIN_PAGES
                            )
                            assert response["Location"].startswith(pages), url
        assert acme_rows(self.workspace.pk) == before

    def test_an_api_key_opens_no_page_of_the_app(self) -> None:
        """Keys are for /api/v1/ and /delighted/v1/; on pages they count for nothing."""
        credentials = [f"Bearer {self.acme.api_token}", basic(self.charlies_token)]
        for route in all_routes():
            if route.is_public or route.kind in ("api", "delighted"):
                continue
            for url, authorization in itertools.product(fill(route, self.acme), credentials):
                with self.subTest(url=url, authorization=authorization[:6]):
                    headers = {"authorization": authorization}
                    response = self.request(Client(), "get", url, headers)
                    assert response.status_code in REFUSED
                    assert not contains_canary(response)

    # --- Charlie, a member of another workspace --------------------------------------------

    def test_an_outsider_gets_404_in_acme_and_never_sees_acme(self) -> None:
        before = acme_rows(self.workspace.pk)
        for route in all_routes():
            for url in fill(route, self.acme):
                for method in route.methods:
                    with self.subTest(route=route.pattern, method=method):
                        response = self.request(self.as_charlie(), method, url)
                        assert not contains_canary(response), f"{url} shows Acme's data"
                        if route.kind == "workspace":
                            assert response.status_code == 404, REFUSE_FIRST
                            assert b"Acme" not in response.content
                        elif route.kind in ("api", "delighted") and not route.is_public:
                            # A session is no API credential.
                            assert response.status_code in (401, 404, 405), url
        assert acme_rows(self.workspace.pk) == before

    def test_acme_ids_under_the_outsiders_own_workspace_are_404(self) -> None:
        """Charlie puts Acme's ids in URLs under Globex, which he owns: still nothing."""
        client = self.as_charlie()
        for route in all_routes():
            if route.kind != "workspace" or not route.names_objects:
                continue
            for url in fill(route, self.acme):
                url = url.replace("/w/acme/", "/w/globex/", 1)
                for method in ("get", "post"):
                    with self.subTest(method=method, url=url):
                        client.force_login(self.charlie)
                        response = self.request(client, method, url)
                        # In his own workspace a 405 before the lookup reveals nothing.
                        assert response.status_code in (404, 405)
                        assert not contains_canary(response)

    def test_another_workspaces_key_cannot_tell_acmes_objects_from_missing_ones(self) -> None:
        before = acme_rows(self.workspace.pk)
        bearer = {"authorization": f"Bearer {self.charlies_token}"}
        schemes = {"api": bearer, "delighted": {"authorization": basic(self.charlies_token)}}
        for route in all_routes():
            if route.kind not in schemes or route.is_public:
                continue
            urls = zip(fill(route, self.acme), fill(route, self.acme, missing=True), strict=True)
            for url, missing_url in urls:
                for method in route.methods:
                    with self.subTest(route=route.pattern, method=method, url=url):
                        response = self.request(Client(), method, url, schemes[route.kind])
                        assert not contains_canary(response), f"{url} shows Acme's data"
                        if not route.names_objects:
                            continue  # a list or create: Globex's own data, checked above
                        missing = self.request(Client(), method, missing_url, schemes[route.kind])
                        assert response.status_code == missing.status_code, (
                            f"{method.upper()} {url} answers {response.status_code} but"
                            f" {missing.status_code} for an id that does not exist"
                        )
                        assert response.status_code not in (200, 201, 204), url
        assert acme_rows(self.workspace.pk) == before

    def test_acmes_own_key_reads_the_canary_so_the_sweep_can_see_it(self) -> None:
        """The oracle works: the same requests with Acme's key do find Acme's data."""
        client = Client()
        response = client.get(
            f"/api/v1/contacts/{self.acme.contact.pk}",
            headers={"authorization": f"Bearer {self.acme.api_token}"},
        )
        assert response.status_code == 200
        assert contains_canary(response)
        client.force_login(self.alice)
        assert contains_canary(client.get("/w/acme/contacts/"))

    def test_a_shared_dashboard_link_shows_figures_but_no_comments_or_people(self) -> None:
        response = Client().get(f"/shared/{self.acme.share_token}/")
        assert response.status_code == 200
        page = response.content.decode().lower()
        assert (self.acme.contact.email or "").lower() not in page
        assert "comment 1" not in page
        assert "window.__xss" not in page
        assert "sessionid" not in response.cookies
