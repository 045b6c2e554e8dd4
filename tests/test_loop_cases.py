"""Assignment, due dates, the case lifecycle, notes and the case webhook events."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from kaiku.accounts.models import Membership, Role, User
from kaiku.contacts.models import Contact
from kaiku.loop import actions
from kaiku.loop.categories import add_category, categories, rename_category, set_active
from kaiku.loop.errors import CaseError, InvalidTransition
from kaiku.loop.models import AssignmentMode, Case, CaseNote, ResolutionCategory
from kaiku.webhooks.models import WebhookEndpoint, WebhookEvent
from tests.base import PASSWORD
from tests.test_loop_base import LoopTestCase


class AssignmentTest(LoopTestCase):
    def test_round_robin_takes_turns_among_the_chosen_members(self) -> None:
        settings = self.loop_settings(assignment=AssignmentMode.ROUND_ROBIN)
        settings.assignees.set([self.membership(self.bob), self.membership(self.dana)])
        assignees = [self.case_for(self.answer(2)).assignee for _ in range(5)]
        assert assignees == [self.bob, self.dana, self.bob, self.dana, self.bob]

    def test_round_robin_skips_viewers_and_falls_back_without_members(self) -> None:
        settings = self.loop_settings(
            assignment=AssignmentMode.ROUND_ROBIN, fallback=self.membership(self.alice)
        )
        settings.assignees.set([self.membership(self.vic)])  # a viewer cannot work cases
        assert self.case_for(self.answer(1)).assignee == self.alice

    def test_the_contact_property_names_the_account_owner(self) -> None:
        self.loop_settings(
            assignment=AssignmentMode.PROPERTY,
            assignee_property="account_owner",
            fallback=self.membership(self.dana),
        )
        assert self.case_for(self.answer(3, contact=self.ann)).assignee == self.bob

    def test_an_unknown_or_non_member_owner_falls_back(self) -> None:
        self.loop_settings(
            assignment=AssignmentMode.PROPERTY,
            assignee_property="account_owner",
            fallback=self.membership(self.dana),
        )
        stranger = Contact.objects.create(
            workspace=self.workspace,
            email="sam@example.com",
            properties={"account_owner": "charlie@example.org"},  # Globex's owner
        )
        nobody = Contact.objects.create(workspace=self.workspace, email="kim@example.com")
        assert self.case_for(self.answer(3, contact=stranger)).assignee == self.dana
        assert self.case_for(self.answer(3, contact=nobody)).assignee == self.dana
        assert self.case_for(self.answer(3)).assignee == self.dana  # anonymous

    def test_without_rules_or_fallback_the_case_is_unassigned(self) -> None:
        assert self.case_for(self.answer(0)).assignee is None

    def test_the_due_date_follows_the_surveys_sla(self) -> None:
        with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False):
            default = self.case_for(self.answer(4))
            self.loop_settings(sla_hours=8)
            short = self.case_for(self.answer(4))
            self.loop_settings(sla_hours=None)
            none = self.case_for(self.answer(4))
        now = timezone.now().replace(year=2026, month=3, day=2, hour=10, minute=0, second=0)
        assert default.due_at == now.replace(microsecond=0) + timedelta(hours=48)
        assert short.due_at == now.replace(microsecond=0) + timedelta(hours=8)
        assert none.due_at is None

    def test_assigning_records_who_from_and_to_and_refuses_viewers(self) -> None:
        case = self.case_for(self.answer(2))
        actions.assign(case, self.bob, actor=self.alice)
        actions.assign(case, self.dana, actor=self.alice)
        event = case.events.filter(kind="assigned").last()
        assert event is not None
        assert (event.actor, event.from_value, event.to_value) == (
            self.alice,
            "bob@example.org",
            "dana@example.org",
        )
        with self.assertRaises(CaseError):
            actions.assign(case, self.vic, actor=self.alice)
        with self.assertRaises(CaseError):
            actions.assign(case, self.charlie, actor=self.alice)


class LifecycleTest(LoopTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.case = self.case_for(self.answer(3, "Waited two weeks", contact=self.ann))
        self.category = categories(self.workspace).get(key="service")

    def transitions(self) -> list[tuple[str, str, str]]:
        return [
            (e.kind, e.from_value, e.to_value)
            for e in self.case.events.exclude(kind__in=["opened", "category"])
        ]

    def test_the_full_lifecycle_is_recorded_with_who_and_when(self) -> None:
        with time_machine.travel(timezone.now() + timedelta(hours=1)):
            actions.change_status(self.case, "in_progress", actor=self.bob)
            actions.change_status(self.case, "waiting", actor=self.bob)
            actions.resolve(self.case, self.category, actor=self.bob)
            actions.change_status(self.case, "closed", actor=self.alice)
            actions.reopen(self.case, actor=self.alice)
        assert self.transitions() == [
            ("status", "open", "in_progress"),
            ("status", "in_progress", "waiting"),
            ("resolved", "waiting", "resolved"),
            ("status", "resolved", "closed"),
            ("reopened", "closed", "open"),
        ]
        actors = list(self.case.events.exclude(kind="opened").values_list("actor__name", flat=True))
        assert actors == ["Bob", "Bob", "Bob", "Bob", "Alice", "Alice"]
        case = Case.objects.get(pk=self.case.pk)
        assert case.status == "open"
        assert case.category is None
        assert case.resolved_at is None
        assert case.first_action_at is not None
        assert case.first_action_at - case.created_at >= timedelta(minutes=59)
        assert case.contacted_at is not None  # waiting for the customer counts as contacted
        assert case.due_at is not None
        assert case.due_at > timezone.now() + timedelta(hours=48)

    def test_resolving_needs_a_category_and_records_it(self) -> None:
        with self.assertRaises(InvalidTransition):
            actions.change_status(self.case, "resolved", actor=self.bob)
        actions.resolve(self.case, self.category, actor=self.bob)
        case = Case.objects.get(pk=self.case.pk)
        assert case.status == "resolved"
        assert case.category == self.category
        assert case.resolved_at is not None
        assert case.events.filter(kind="category", to_value="Service or support").exists()

    def test_invalid_transitions_are_refused_and_change_nothing(self) -> None:
        actions.resolve(self.case, self.category, actor=self.bob)
        for status in ("open", "in_progress", "waiting"):
            with self.assertRaises(InvalidTransition):
                actions.change_status(self.case, status, actor=self.bob)
        with self.assertRaises(InvalidTransition):
            actions.resolve(self.case, self.category, actor=self.bob)
        actions.change_status(self.case, "closed", actor=self.bob)
        with self.assertRaises(InvalidTransition):
            actions.change_status(self.case, "waiting", actor=self.bob)
        fresh = self.case_for(self.answer(1))
        with self.assertRaises(InvalidTransition):
            actions.reopen(fresh, actor=self.bob)
        assert Case.objects.get(pk=self.case.pk).status == "closed"

    def test_a_stale_page_cannot_move_a_case_that_changed_meanwhile(self) -> None:
        stale = Case.objects.get(pk=self.case.pk)  # loaded while "open"
        actions.resolve(self.case, self.category, actor=self.bob)
        with self.assertRaises(InvalidTransition):
            actions.change_status(stale, "waiting", actor=self.alice)  # checked on the locked row

    def test_another_workspaces_or_retired_category_is_refused(self) -> None:
        theirs = ResolutionCategory.objects.create(workspace=self.charlies_workspace, key="x")
        with self.assertRaises(CaseError):
            actions.resolve(self.case, theirs, actor=self.bob)
        set_active(self.category, False)
        self.category.refresh_from_db()
        with self.assertRaises(CaseError):
            actions.resolve(self.case, self.category, actor=self.bob)

    def test_notes_are_kept_in_order_and_count_as_a_first_action(self) -> None:
        actions.add_note(self.case, "Called her, no answer", actor=self.bob)
        actions.add_note(self.case, "Second try tomorrow", actor=self.dana)
        bodies = list(CaseNote.objects.filter(case=self.case).values_list("author__name", "body"))
        assert bodies == [("Bob", "Called her, no answer"), ("Dana", "Second try tomorrow")]
        assert Case.objects.get(pk=self.case.pk).first_action_at is not None
        with self.assertRaises(CaseError):
            actions.add_note(self.case, "   ", actor=self.bob)

    def test_a_resolved_cases_category_can_be_corrected(self) -> None:
        actions.resolve(self.case, self.category, actor=self.bob)
        price = categories(self.workspace).get(key="price")
        actions.set_category(self.case, price, actor=self.alice)
        event = self.case.events.filter(kind="category").last()
        assert event is not None
        assert (event.from_value, event.to_value) == ("Service or support", "Price or billing")


class CategoryListTest(LoopTestCase):
    def test_a_workspace_starts_with_the_starter_set_and_can_edit_it(self) -> None:
        keys = list(categories(self.workspace).values_list("key", flat=True))
        assert keys[:3] == ["product", "service", "price"]
        assert "other" in keys
        added = add_category(self.workspace, "Onboarding")
        again = add_category(self.workspace, "Onboarding")
        assert (added.key, again.key) == ("onboarding", "onboarding-2")
        product = categories(self.workspace).get(key="product")
        rename_category(product, "Bug")
        assert str(ResolutionCategory.objects.get(pk=product.pk).label) == "Bug"
        rename_category(product, "")  # blank: the translated starter label again
        assert str(ResolutionCategory.objects.get(pk=product.pk).label) == "Product issue"
        assert not categories(self.charlies_workspace).filter(key="onboarding").exists()


class CaseWebhookEventsTest(LoopTestCase):
    def test_opening_and_changing_a_case_emit_webhook_events(self) -> None:
        endpoint = WebhookEndpoint(
            workspace=self.workspace,
            url="https://hooks.example.com/kaiku",
            events=["case.opened", "case.updated"],
        )
        endpoint.set_secret("s" * 32)
        endpoint.save()
        case = self.case_for(self.answer(2, "Late", contact=self.ann))
        actions.change_status(case, "in_progress", actor=self.bob)
        events = list(WebhookEvent.objects.filter(workspace=self.workspace).order_by("pk"))
        assert [e.type for e in events] == ["case.opened", "case.updated"]
        opened, updated = events[0].payload, events[1].payload
        assert opened["id"] == case.pk
        assert opened["status"] == "open"
        assert opened["contact"]["email"] == "ann@example.com"
        assert opened["score"] == 2
        assert updated["status"] == "in_progress"

    def test_a_former_member_keeps_past_events_but_gets_no_new_cases(self) -> None:
        eve = User.objects.create_user("eve@example.org", PASSWORD, name="Eve")
        member = Membership.objects.create(workspace=self.workspace, user=eve, role=Role.AGENT)
        settings = self.loop_settings(assignment=AssignmentMode.ROUND_ROBIN)
        settings.assignees.set([member])
        assert self.case_for(self.answer(1)).assignee == eve
        member.delete()
        assert self.case_for(self.answer(1)).assignee is None
