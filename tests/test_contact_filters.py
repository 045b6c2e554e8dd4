"""kaiku.contacts.filters: one filter for the contacts list, the send dialog and waves.

The same expectations run on SQLite and (with KAIKU_DATABASE_URL) on PostgreSQL;
`test_postgres_matches_the_expected_sets` is the explicit parity check there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from kaiku.contacts.filters import (
    ContactFilter,
    FilterError,
    PropertyCondition,
    filter_contacts,
    from_query_string,
    parse_filter,
)
from kaiku.contacts.models import Contact
from kaiku.responses.models import Response
from kaiku.surveys.models import Invitation, InvitationStatus, Survey
from tests.base import BaseTestCase

# contact name → properties
PEOPLE: dict[str, dict[str, Any]] = {
    "ann": {"plan": "Pro", "seats": 12, "renewal": "2025-03-01", "vip": True},
    "ben": {"plan": "free", "seats": 3, "renewal": "2024-11-15"},
    "cid": {"plan": "pro trial", "seats": "many", "odd key: ü/é": "x"},
    "dot": {"plan": None, "seats": 2.5},
    "eve": {},
}

# (condition, expected names)
PROPERTY_CASES: list[tuple[tuple[str, str, str], set[str]]] = [
    (("plan", "eq", "pro"), {"ann"}),
    (("plan", "neq", "pro"), {"ben", "cid", "dot", "eve"}),
    (("plan", "contains", "PRO"), {"ann", "cid"}),
    (("plan", "in", "free, pro"), {"ann", "ben"}),
    (("plan", "exists", ""), {"ann", "ben", "cid"}),
    (("plan", "missing", ""), {"dot", "eve"}),
    (("seats", "gt", "2.5"), {"ann", "ben"}),
    (("seats", "lt", "3"), {"dot"}),
    (("seats", "eq", "12"), {"ann"}),
    (("seats", "gt", "many"), set()),
    (("renewal", "lt", "2025-01-01"), {"ben"}),
    (("renewal", "gt", "2025-01-01"), {"ann"}),
    (("vip", "eq", "true"), {"ann"}),
    (("odd key: ü/é", "eq", "X"), {"cid"}),
    (("plan__x", "exists", ""), set()),
]


class FilterCase(BaseTestCase):
    people: dict[str, Contact]

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.people = {
            name: Contact.objects.create(
                workspace=cls.workspace,
                email=f"{name}@example.org",
                name=name,
                language="fi" if name in ("ann", "ben") else "en",
                properties=properties,
            )
            for name, properties in PEOPLE.items()
        }
        # Charlie's contact with the same properties never shows up in Acme.
        Contact.objects.create(
            workspace=cls.charlies_workspace, email="ann@example.org", properties=PEOPLE["ann"]
        )

    def names(self, params: dict[str, Any]) -> set[str]:
        return {c.name for c in filter_contacts(self.workspace, params)}

    def condition(self, name: str, op: str, value: str) -> set[str]:
        return self.names({"properties": [{"name": name, "op": op, "value": value}]})


class PropertyConditionTest(FilterCase):
    def test_each_operator_finds_the_expected_contacts(self) -> None:
        for (name, op, value), expected in PROPERTY_CASES:
            with self.subTest(name=name, op=op, value=value):
                self.assertEqual(self.condition(name, op, value), expected)

    def test_conditions_combine_with_and(self) -> None:
        params = {
            "properties": [
                {"name": "plan", "op": "contains", "value": "pro"},
                {"name": "seats", "op": "gt", "value": "5"},
            ]
        }
        self.assertEqual(self.names(params), {"ann"})

    def test_language_and_search(self) -> None:
        self.assertEqual(self.names({"language": "fi"}), {"ann", "ben"})
        self.assertEqual(self.names({"q": "EVE@"}), {"eve"})

    def test_an_empty_filter_is_every_contact_of_the_workspace(self) -> None:
        self.assertEqual(self.names({}), set(PEOPLE))


class SurveyHistoryFilterTest(FilterCase):
    def test_last_surveyed_before_days_keeps_the_never_surveyed(self) -> None:
        now = timezone.now()
        self._sent(self.people["ann"], now - timedelta(days=10))
        self._sent(self.people["ben"], now - timedelta(days=100))
        names = self.names({"last_surveyed_before": "30"})
        self.assertEqual(names, {"ben", "cid", "dot", "eve"})

    def test_last_surveyed_before_a_date_counts_from_midnight_in_the_workspace_zone(
        self,
    ) -> None:
        # 2025-01-31 22:30 UTC is already 1 February in Helsinki.
        at = datetime(2025, 1, 31, 22, 30, tzinfo=UTC)
        self._sent(self.people["ann"], at)
        self.assertNotIn("ann", self.names({"last_surveyed_before": "2025-01-01"}))
        self.assertIn("ann", self.names({"last_surveyed_before": "2025-02-02"}))
        self.assertNotIn("ann", self.names({"last_surveyed_before": "2025-02-01"}))

    def test_scheduled_invitations_do_not_count_as_surveyed(self) -> None:
        Invitation.objects.create(
            workspace=self.workspace, survey=self.survey, contact=self.people["ann"]
        )
        self.assertIn("ann", self.names({"last_surveyed_before": "30"}))

    def test_never_responded_any_survey_or_one(self) -> None:
        other = Survey.objects.create(workspace=self.workspace, name="Support CSAT", kind="csat")
        self._answer(self.people["ann"], self.survey)
        self._answer(self.people["ben"], other)
        self.assertEqual(self.names({"never_responded": True}), {"cid", "dot", "eve"})
        scoped = self.names({"never_responded": "1", "survey": str(self.survey.pk)})
        self.assertEqual(scoped, {"ben", "cid", "dot", "eve"})

    def test_a_survey_of_another_workspace_is_refused(self) -> None:
        theirs = Survey.objects.create(workspace=self.charlies_workspace, name="Theirs")
        with self.assertRaises(FilterError):
            self.names({"never_responded": True, "survey": theirs.pk})

    def _sent(self, contact: Contact, at: Any) -> None:
        Invitation.objects.create(
            workspace=self.workspace,
            survey=self.survey,
            contact=contact,
            status=InvitationStatus.SENT,
            send_at=at,
            sent_at=at,
        )

    def _answer(self, contact: Contact, survey: Survey) -> None:
        Response.objects.create(
            workspace=self.workspace, survey=survey, contact=contact, score=4, channel="email"
        )


class ParsingTest(FilterCase):
    def test_the_query_string_round_trips(self) -> None:
        original = ContactFilter(
            q="acme",
            language="et",
            properties=(
                PropertyCondition("plan", "in", "pro,team"),
                PropertyCondition("trial", "missing"),
            ),
            last_surveyed_before=date(2025, 1, 31),
            never_responded=True,
            survey=7,
        )
        query = original.to_query_string()
        self.assertEqual(parse_filter(from_query_string(query)), original)
        self.assertEqual(parse_filter(original.to_dict()), original)

    def test_empty_property_rows_of_the_form_are_ignored(self) -> None:
        query = "prop=plan&op=eq&val=pro&prop=&op=eq&val="
        parsed = parse_filter(from_query_string(query))
        self.assertEqual(parsed.properties, (PropertyCondition("plan", "eq", "pro"),))

    def test_bad_input_gets_one_clear_message_per_problem(self) -> None:
        bad = {
            "language": "sv",
            "properties": [
                {"name": "plan", "op": "like", "value": "x"},
                {"name": "seats", "op": "gt", "value": ""},
                {"name": "", "op": "eq", "value": "x"},
            ],
            "last_surveyed_before": "last tuesday",
            "survey": "abc",
        }
        with self.assertRaises(FilterError) as caught:
            parse_filter(bad)
        messages = caught.exception.messages
        self.assertEqual(len(messages), 6, messages)
        self.assertIn("Unknown language sv", messages[0])
        self.assertIn("unknown operator", messages[1])
        self.assertIn("needs a value", messages[2])
        self.assertIn("property name", messages[3])
        self.assertIn("2025-01-31", messages[4])

    def test_zero_or_huge_day_counts_are_refused(self) -> None:
        for days in ("0", "99999", "-5"):
            with self.subTest(days=days), self.assertRaises(FilterError):
                parse_filter({"last_surveyed_before": days})

    def test_too_many_conditions_are_refused(self) -> None:
        many = [{"name": f"p{i}", "op": "exists"} for i in range(11)]
        with self.assertRaises(FilterError):
            parse_filter({"properties": many})


@pytest.mark.postgres
class PostgresParityTest(FilterCase):
    def test_postgres_matches_the_expected_sets(self) -> None:
        """The same table of expectations as on SQLite, run on PostgreSQL."""
        for (name, op, value), expected in PROPERTY_CASES:
            with self.subTest(name=name, op=op, value=value):
                self.assertEqual(self.condition(name, op, value), expected)
