"""Writes to contacts. Every channel that learns who a respondent is comes here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import SUPPORTED_LANGUAGES, Membership, Workspace
from kaiku.contacts.models import Contact, validate_properties

MAX_EXTERNAL_ID = 128
MAX_NAME = 200
MAX_PHONE = 32


def normalise_language(value: str | None) -> str:
    """`fi-FI` → `fi`; anything Kaiku does not speak → empty."""
    primary = (value or "").strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in SUPPORTED_LANGUAGES else ""


def upsert_contact(
    workspace: Workspace,
    *,
    email: str | None = None,
    external_id: str | None = None,
    name: str | None = None,
    language: str | None = None,
    phone: str | None = None,
    properties: Mapping[str, Any] | None = None,
) -> Contact:
    """Find a contact by external id, else by email (case-insensitive); create or update it.

    Given values overwrite stored ones; `None` leaves a field alone. Properties
    are merged key by key over the stored ones. Raises ValidationError (a dict
    of field → messages) on bad input; nothing is written then.

    An email that already belongs to a contact with a *different* external id
    stays with that contact: the new external id gets its own contact without
    the email, so one person's claim never takes over another's history.

    Safe under races: two requests creating the same contact at once both end
    with the one row (the unique constraints decide, the loser re-reads).
    Nests inside a caller's transaction (not durable) so imports can batch.
    """
    email = (email or "").strip().lower() or None
    external_id = (external_id or "").strip() or None
    _check_input(email, external_id, name, phone, properties)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return _upsert(
                    workspace,
                    email,
                    external_id,
                    name,
                    normalise_language(language),
                    phone,
                    dict(properties or {}),
                )
        except IntegrityError:
            # Someone else inserted the same email or external id between our
            # lookup and our insert: the next round finds and updates their row.
            continue
    raise ValidationError({"email": [_("This contact is being changed by another request.")]})


def _check_input(
    email: str | None,
    external_id: str | None,
    name: str | None,
    phone: str | None,
    properties: Mapping[str, Any] | None,
) -> None:
    errors: dict[str, list[Any]] = {}
    if email is None and external_id is None:
        errors["email"] = [_("An email address or an external id is required.")]
    if email is not None:
        try:
            Contact._meta.get_field("email").run_validators(email)
        except ValidationError as exc:
            errors["email"] = exc.messages
    if external_id is not None and len(external_id) > MAX_EXTERNAL_ID:
        errors["external_id"] = [_("The external id is too long.")]
    if name is not None and len(name) > MAX_NAME:
        errors["name"] = [_("The name is too long.")]
    if phone is not None and len(phone) > MAX_PHONE:
        errors["phone"] = [_("The phone number is too long.")]
    if properties is not None:
        try:
            validate_properties(dict(properties))
        except ValidationError as exc:
            errors["properties"] = exc.messages
    if errors:
        raise ValidationError(errors)


def _find(workspace: Workspace, email: str | None, external_id: str | None) -> Contact | None:
    contacts = Contact.objects.select_for_update().filter(workspace=workspace)
    if external_id is not None:
        found = contacts.filter(external_id=external_id).first()
        if found is not None:
            return found
    if email is not None:
        # Emails are stored lower-cased (Contact.save), so equality is case-insensitive.
        by_email = contacts.filter(email=email).first()
        if by_email is not None and (external_id is None or by_email.external_id is None):
            return by_email
    return None


def _upsert(
    workspace: Workspace,
    email: str | None,
    external_id: str | None,
    name: str | None,
    language: str,
    phone: str | None,
    properties: dict[str, Any],
) -> Contact:
    contact = _find(workspace, email, external_id)
    if contact is None:
        email_taken = (
            email is not None and Contact.objects.filter(workspace=workspace, email=email).exists()
        )
        contact = Contact(workspace=workspace, email=None if email_taken else email)
    changed = _apply(contact, email, external_id, name, language, phone, properties)
    if contact.pk is None:
        contact.save()
    elif changed:
        contact.save(update_fields=[*changed, "updated_at"])
    return contact


def _apply(
    contact: Contact,
    email: str | None,
    external_id: str | None,
    name: str | None,
    language: str,
    phone: str | None,
    properties: dict[str, Any],
) -> list[str]:
    """Copy the given values onto the contact; the names of the fields that changed."""
    changed: list[str] = []
    wanted: dict[str, Any] = {"external_id": external_id, "name": name, "phone": phone}
    wanted["language"] = language or None
    if contact.pk is not None and email is not None and email != contact.email:
        # A changed address is taken over only if no other contact holds it.
        others = Contact.objects.filter(workspace_id=contact.workspace_id, email=email)
        wanted["email"] = None if others.exists() else email
    for field, value in wanted.items():
        if value is not None and getattr(contact, field) != value:
            setattr(contact, field, value)
            changed.append(field)
    if properties:
        merged = {**contact.properties, **properties}
        validate_properties(merged)
        if merged != contact.properties:
            contact.properties = merged
            changed.append("properties")
    return changed


# --- The contacts pages: one contact at a time ------------------------------------

# Who may add and edit contacts by hand: agents too (they talk to customers);
# viewers only read.
CONTACT_EDITOR_ROLES = frozenset({"owner", "admin", "agent"})


def create_contact(actor: Membership, **values: Any) -> Contact:
    """A new contact from the form. An email or external id already in use is refused
    (here, unlike upsert_contact, the person typing should know they found a duplicate)."""
    _check_editor(actor)
    cleaned = _cleaned(values)
    with transaction.atomic(durable=True):
        _check_unique(actor.workspace_id, cleaned, exclude=None)
        contact = Contact(workspace_id=actor.workspace_id, **cleaned)
        _save_or_refuse(contact)
    return contact


def update_contact(actor: Membership, contact: Contact, **values: Any) -> Contact:
    """Replace the contact's fields and properties with the form's (a removed
    property is gone); unsubscribe and bounce marks are not the form's to change."""
    _check_editor(actor)
    cleaned = _cleaned(values)
    with transaction.atomic(durable=True):
        current = (
            Contact.objects.select_for_update()
            .filter(pk=contact.pk, workspace_id=actor.workspace_id)
            .first()
        )
        if current is None:
            raise ValidationError({"email": [_("This contact no longer exists.")]})
        _check_unique(actor.workspace_id, cleaned, exclude=current.pk)
        for name, value in cleaned.items():
            setattr(current, name, value)
        _save_or_refuse(current, update_fields=[*cleaned, "updated_at"])
    return current


def _check_editor(actor: Membership) -> None:
    if actor.role not in CONTACT_EDITOR_ROLES:
        raise PermissionDenied


def _cleaned(values: Mapping[str, Any]) -> dict[str, Any]:
    email = (values.get("email") or "").strip().lower() or None
    external_id = (values.get("external_id") or "").strip() or None
    name = (values.get("name") or "").strip()
    phone = (values.get("phone") or "").strip()
    properties = dict(values.get("properties") or {})
    _check_input(email, external_id, name, phone, properties)
    return {
        "email": email,
        "external_id": external_id,
        "name": name,
        "phone": phone,
        "language": normalise_language(values.get("language")),
        "properties": properties,
    }


def _check_unique(workspace_id: int, cleaned: Mapping[str, Any], exclude: int | None) -> None:
    others = Contact.objects.filter(workspace_id=workspace_id)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    errors: dict[str, list[Any]] = {}
    if cleaned["email"] and others.filter(email=cleaned["email"]).exists():
        errors["email"] = [_("Another contact has this email address.")]
    if cleaned["external_id"] and others.filter(external_id=cleaned["external_id"]).exists():
        errors["external_id"] = [_("Another contact has this external id.")]
    if errors:
        raise ValidationError(errors)


def _save_or_refuse(contact: Contact, update_fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():
            contact.save(update_fields=update_fields)
    except IntegrityError:  # the same email or id was saved a moment ago
        raise ValidationError(
            {"email": [_("Another contact has this email address or external id.")]}
        ) from None
