"""kaiku.delighted.payloads.build(): Kaiku webhook events in Delighted's format;
and the Rails-style parameter parser."""

from __future__ import annotations

import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from kaiku.api.schemas import ContactOut, ResponseOut
from kaiku.delighted.parsing import ParamError, as_bool, as_int, parse_pairs
from kaiku.delighted.payloads import build
from kaiku.responses.models import Response
from tests.delighted_base import DelightedTestCase


def as_json(value: object) -> dict:
    """What kaiku.webhooks stores as an event's data: the API schema, through JSON."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


class PayloadTests(DelightedTestCase):
    def test_a_response_event_becomes_a_survey_response_event(self) -> None:
        contact = self.make_contact("ann@example.org", name="Ann", phone="+3581")
        answer = self.make_response(contact, 9, comment="Fast", properties={"plan": "pro"})
        answer = Response.objects.select_related("contact").get(pk=answer.pk)
        data = as_json(ResponseOut.model_validate(answer).model_dump())
        payload = build("response.created", data)
        self.assertEqual(payload["event_type"], "survey_response.created")
        self.assertRegex(payload["event_id"], r"^[0-9a-f]{64}$")
        self.assertEqual(
            payload["event_data"],
            {
                "id": str(answer.pk),
                "person": {
                    "id": str(contact.pk),
                    "email": "ann@example.org",
                    "name": "Ann",
                    "phone_number": "+3581",
                    "created_at": int(contact.created_at.timestamp()),
                },
                "survey_type": "nps",
                "score": 9,
                "comment": "Fast",
                "permalink": None,
                "created_at": int(answer.created_at.timestamp()),
                "updated_at": int(answer.updated_at.timestamp()),
                "person_properties": {"plan": "pro"},
                "notes": [],
                "tags": [],
                "additional_answers": [],
            },
        )
        # Retries send the same bytes: the id is derived, not random.
        self.assertEqual(build("response.created", data), payload)
        updated = build("response.updated", data)
        self.assertEqual(updated["event_type"], "survey_response.updated")
        self.assertNotEqual(updated["event_id"], payload["event_id"])

    def test_an_unsubscribe_becomes_unsubscribe_created(self) -> None:
        contact = self.make_contact("ann@example.org")
        data = as_json(
            {
                "contact": ContactOut.model_validate(contact).model_dump(),
                "unsubscribed_at": "2026-06-30T12:00:00Z",
            }
        )
        payload = build("contact.unsubscribed", data)
        self.assertEqual(payload["event_type"], "unsubscribe.created")
        self.assertEqual(payload["event_data"]["person"]["email"], "ann@example.org")
        self.assertEqual(payload["event_data"]["unsubscribed_at"], 1782820800)

    def test_an_anonymous_answer_has_no_person(self) -> None:
        answer = self.make_response(None, 3)
        data = as_json(ResponseOut.model_validate(answer).model_dump())
        self.assertIsNone(build("survey_response.updated", data)["event_data"]["person"])

    def test_kaiku_only_events_are_refused(self) -> None:
        with pytest.raises(ValueError, match="no webhook event"):
            build("case.opened", {})
        with pytest.raises(KeyError):
            build("response.created", {"comment": "no id"})


def test_brackets_build_hashes_and_lists() -> None:
    pairs = [
        ("email", "a@example.org"),
        ("properties[plan]", "pro"),
        ("properties[Purchase Experience]", "Mobile App"),
        ("expand[]", "person"),
        ("expand[]", "notes"),
        ("a[b][c]", "deep"),
    ]
    assert parse_pairs(pairs) == {
        "email": "a@example.org",
        "properties": {"plan": "pro", "Purchase Experience": "Mobile App"},
        "expand": ["person", "notes"],
        "a": {"b": {"c": "deep"}},
    }


def test_a_repeated_plain_name_keeps_the_last_value() -> None:
    assert parse_pairs([("page", "1"), ("page", "2")]) == {"page": "2"}


def test_hostile_nesting_is_refused() -> None:
    with pytest.raises(ParamError):
        parse_pairs([("a[b][c][d][e][f]", "x")])
    with pytest.raises(ParamError):
        parse_pairs([(f"k{i}", "v") for i in range(1001)])
    with pytest.raises(ParamError):
        parse_pairs([("a[][b]", "x")])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("false", False), ("0", False), (False, False), ("true", True), (True, True), (None, True)],
)
def test_booleans_read_like_rails(raw: object, expected: bool) -> None:
    assert as_bool({"send": raw}, "send", default=True) is expected


def test_integers_accept_digits_and_refuse_the_rest() -> None:
    assert as_int({"n": "42"}, "n") == 42
    assert as_int({"n": 9.0}, "n") == 9
    for bad in ("4.5", "x", True, 9.5, "1" * 30):
        with pytest.raises(ParamError):
            as_int({"n": bad}, "n")
