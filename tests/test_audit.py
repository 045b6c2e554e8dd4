"""The audit log: who erased, exported or imported what, shown to owners and admins."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from kaiku.accounts.models import Membership, Role
from kaiku.api.actions import create_api_key
from kaiku.api.models import Scope
from kaiku.contacts.models import Contact
from kaiku.transfer.audit import actor_fields, audit
from kaiku.transfer.gdpr import erase_contact, export_contact
from kaiku.transfer.models import ActorType, AuditAction, AuditLog
from kaiku.transfer.views import AUDIT_PAGE
from tests.base import BaseTestCase


class AuditLogTest(BaseTestCase):
    def test_each_kind_of_actor_is_named(self) -> None:
        key, _plaintext = create_api_key(
            self.workspace, "CRM sync", Scope.READ_WRITE, None, self.alice
        )
        assert actor_fields(self.alice)["actor_label"] == "alice@example.org"
        fields = actor_fields(key)
        assert (fields["actor_type"], fields["api_key"]) == (ActorType.API_KEY, key)
        assert fields["actor_label"].startswith("API key CRM sync (kaiku_")
        assert actor_fields(None) == {"actor_type": ActorType.SYSTEM, "actor_label": "system"}
        assert actor_fields("cli")["actor_label"] == "cli"

    def test_the_actor_stays_named_after_the_user_is_gone(self) -> None:
        contact = Contact.objects.create(workspace=self.workspace, email="x@example.org")
        erase_contact(contact, actor=self.bob)
        self.bob.delete()
        entry = AuditLog.objects.get()
        assert (entry.user, entry.actor_label) == (None, "bob@example.org")

    def test_erase_and_export_entries_hold_ids_and_counts_only(self) -> None:
        contact = Contact.objects.create(
            workspace=self.workspace, email="secret.person@example.org", name="Secret Person"
        )
        export_contact(contact, actor=self.alice)
        erase_contact(contact, actor=self.alice)
        entries = AuditLog.objects.order_by("created_at", "id")
        assert [e.action for e in entries] == [
            AuditAction.CONTACT_EXPORTED,
            AuditAction.CONTACT_ERASED,
        ]
        for entry in entries:
            assert entry.object_id == str(contact.pk)
            assert "secret" not in str(entry.details).lower()

    @time_machine.travel(datetime(2025, 8, 1, 10, 0, tzinfo=UTC), tick=False)
    def test_owners_see_the_log_newest_first(self) -> None:
        contact = Contact.objects.create(workspace=self.workspace, email="a@example.org")
        erase_contact(contact, actor=self.alice)
        audit(self.workspace, "system", AuditAction.RETENTION_APPLIED, details={"responses": 4})
        audit(self.charlies_workspace, self.charlie, AuditAction.WORKSPACE_EXPORTED)
        self.login_as(self.alice)
        page = self.client.get("/w/acme/audit/")
        self.assertContains(page, "Contact erased")
        self.assertContains(page, "Retention policy applied")
        self.assertContains(page, "responses: 4")
        self.assertNotContains(page, "Workspace exported")  # Globex's entry
        text = page.content.decode()
        # Same time (the clock is frozen): the later entry (higher id) comes first.
        assert text.index("Retention policy applied") < text.index("Contact erased")

    def test_admins_see_it_agents_do_not_outsiders_get_404(self) -> None:
        Membership.objects.filter(user=self.bob).update(role=Role.ADMIN)
        self.login_as(self.bob)
        assert self.client.get("/w/acme/audit/").status_code == 200
        Membership.objects.filter(user=self.bob).update(role=Role.AGENT)
        assert self.client.get("/w/acme/audit/").status_code == 403
        self.assertRefusedToOutsider("/w/acme/audit/")
        self.assertRefusedToOutsider("/w/acme/audit/", "post")

    def test_a_long_log_is_paged(self) -> None:
        for _ in range(AUDIT_PAGE + 5):
            audit(self.workspace, "system", AuditAction.RETENTION_APPLIED)
        self.login_as(self.alice)
        first = self.client.get("/w/acme/audit/")
        assert len(first.context["page"].object_list) == AUDIT_PAGE
        self.assertContains(first, "?page=2")
        second = self.client.get("/w/acme/audit/", {"page": 2})
        assert len(second.context["page"].object_list) == 5
