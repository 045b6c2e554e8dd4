"""The answer paths leave no reference cycles behind.

Objects that refer to each other outlive their request until Python's cyclic
garbage collector finds them; a few per request made it run dozens of times per
thousand answers, with a full pass over the whole heap now and then (~3.5 % of
an API answer's time before a workspace and the survey read with it stopped
holding each other, kaiku.surveys.models.SurveyManager.in_workspace). Requests go
through kaiku.wsgi's application, as granian calls it.
"""

from __future__ import annotations

import gc
import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

from kaiku.api.actions import create_api_key
from kaiku.api.models import Scope
from tests.base import BaseTestCase
from tests.test_handlers import Answer, call

REQUESTS = 10


@contextmanager
def garbage_kept() -> Iterator[list[object]]:
    """What the collector finds unreachable in the block (kept, not freed)."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    found: list[object] = []
    try:
        yield found
        gc.collect()
        found += gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()


class AnswerPathTests(BaseTestCase):
    def cycles(self, answer: Callable[[int], Answer], status: int) -> Counter[str]:
        for n in range(3):  # first calls fill caches (translations, plans) that live on
            assert answer(n).status == status
        with garbage_kept() as garbage:
            for n in range(3, 3 + REQUESTS):
                assert answer(n).status == status
        return Counter(type(thing).__qualname__ for thing in garbage)

    def test_an_api_answer_leaves_no_cycles(self) -> None:
        _key, token = create_api_key(self.workspace, "crm", Scope.READ_WRITE, None, None)

        def answer(n: int) -> Answer:
            body = {"survey": self.survey.pk, "score": 9, "idempotency_key": f"cycle-{n}"}
            return call(
                "/api/v1/responses",
                "POST",
                json.dumps(body).encode(),
                "application/json",
                {"Authorization": f"Bearer {token}"},
            )

        assert self.cycles(answer, 201) == Counter()

    def test_a_public_link_answer_leaves_no_cycles(self) -> None:
        def answer(n: int) -> Answer:
            form = urlencode({"score": "9", "lang": "en", "nonce": f"cycle-nonce-{n:04d}"})
            path = f"/s/{self.survey.public_id}/"
            return call(path, "POST", form.encode(), "application/x-www-form-urlencoded")

        assert self.cycles(answer, 303) == Counter()
