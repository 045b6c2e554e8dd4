"""Contacts pages: the filtered list, add and edit, and the CSV import steps.

Thin views: the access helper first (outsiders 404 before anything else),
then parse, call one action, respond. Roles: every member reads; owners,
admins and agents add and edit; owners and admins import.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from kaiku.accounts.access import get_manager_membership, get_membership
from kaiku.accounts.models import Membership
from kaiku.contacts import actions, importer, uploads
from kaiku.contacts.filters import FilterError, apply_filter
from kaiku.contacts.forms import (
    TARGET_CHOICES,
    ContactForm,
    UploadForm,
    column_choices,
    filter_context,
)
from kaiku.contacts.forms import mapping_from_post as _mapping_from_post
from kaiku.contacts.models import Contact
from kaiku.surveys.models import Invitation

PAGE_SIZE = 50


def get_contact_for_member(membership: Membership, contact_id: int) -> Contact:
    contact = Contact.objects.filter(workspace_id=membership.workspace_id, pk=contact_id).first()
    if contact is None:
        raise Http404
    return contact


def _require_editor(membership: Membership) -> None:
    if membership.role not in actions.CONTACT_EDITOR_ROLES:
        raise PermissionDenied


# --- The list ------------------------------------------------------------------------


@login_required
def contact_list(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_membership(request, workspace_slug)
    contact_filter, context = filter_context(membership, request.GET)
    status = 200
    page = None
    if contact_filter is None:
        status = 400
    else:
        try:
            contacts = _listed(apply_filter(membership.workspace, contact_filter))
        except FilterError as exc:
            context["filter_errors"], status = exc.messages, 400
        else:
            page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    context.update(
        {
            "workspace": membership.workspace,
            "membership": membership,
            "page": page,
            "query": contact_filter.to_query_string() if contact_filter else "",
            "filtered": contact_filter is not None and not contact_filter.is_empty,
            "can_edit": membership.role in actions.CONTACT_EDITOR_ROLES,
            "surveys": context["filter_surveys"],
        }
    )
    return render(request, "contacts/contact_list.html", context, status=status)


def _listed(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    # A subquery per shown row reads the (contact, -sent_at) index; a MAX over a
    # join would group every contact of the workspace before the LIMIT.
    last = (
        Invitation.objects.filter(contact=OuterRef("pk"), sent_at__isnull=False)
        .order_by("-sent_at")
        .values("sent_at")[:1]
    )
    return contacts.annotate(last_surveyed=Subquery(last)).order_by("-created_at", "-pk")


# --- One contact -----------------------------------------------------------------------


@login_required
def contact_new(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_membership(request, workspace_slug)
    _require_editor(membership)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = actions.create_contact(membership, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Contact added."))
            return redirect("contacts:detail", workspace_slug=workspace_slug, contact_id=contact.pk)
    status = 400 if form.is_bound else 200
    return render(
        request, "contacts/contact_form.html", _contact_context(membership, form), status=status
    )


@login_required
def contact_detail(request: HttpRequest, workspace_slug: str, contact_id: int) -> HttpResponse:
    membership = get_membership(request, workspace_slug)
    contact = get_contact_for_member(membership, contact_id)
    if request.method == "POST":
        _require_editor(membership)
    form = ContactForm(request.POST or None, contact=contact)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_contact(membership, contact, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Contact saved."))
            return redirect("contacts:detail", workspace_slug=workspace_slug, contact_id=contact_id)
    context = _contact_context(membership, form, contact)
    return render(
        request, "contacts/contact_form.html", context, status=400 if form.is_bound else 200
    )


def _contact_context(
    membership: Membership, form: ContactForm, contact: Contact | None = None
) -> dict[str, Any]:
    invitations = (
        Invitation.objects.filter(contact=contact).select_related("survey")[:10]
        if contact is not None
        else []
    )
    return {
        "workspace": membership.workspace,
        "membership": membership,
        "form": form,
        "contact": contact,
        "invitations": invitations,
        "can_edit": membership.role in actions.CONTACT_EDITOR_ROLES,
    }


def _form_errors(form: ContactForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# --- Import ------------------------------------------------------------------------------


@login_required
def import_upload(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"].read(importer.MAX_FILE_BYTES + 1)
        try:
            importer.read_csv(data)
        except importer.CsvError as exc:
            form.add_error("file", exc.message)
        else:
            reference = uploads.store_upload(
                data, workspace_id=membership.workspace_id, user_id=membership.user_id
            )
            url = reverse("contacts:import_map", kwargs={"workspace_slug": workspace_slug})
            return redirect(f"{url}?upload={reference}")
    context = {"workspace": membership.workspace, "membership": membership, "form": form}
    status = 400 if form.is_bound else 200
    return render(request, "contacts/import_upload.html", context, status=status)


@login_required
def import_map(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """Map the columns, check the rows (the report), then import; one page, three buttons."""
    membership = get_manager_membership(request, workspace_slug)
    reference = request.POST.get("upload") or request.GET.get("upload") or ""
    try:
        data = uploads.load_upload(
            reference, workspace_id=membership.workspace_id, user_id=membership.user_id
        )
        table = importer.read_csv(data)
    except (uploads.UploadExpired, importer.CsvError):
        messages.error(request, _("The uploaded file has expired. Please upload it again."))
        return redirect("contacts:import", workspace_slug=workspace_slug)
    if request.method == "POST":
        mapping = _mapping_from_post(table, request.POST)
    else:
        mapping = importer.suggest_mapping(table.headers)
    context: dict[str, Any] = {
        "workspace": membership.workspace,
        "membership": membership,
        "upload": reference,
        "table": table,
        "columns": column_choices(table, mapping),
        "targets": TARGET_CHOICES,
    }
    if request.method != "POST":
        return render(request, "contacts/import_map.html", context)
    if request.POST.get("action") == "import":
        return _do_import(request, membership, reference, table, mapping, context)
    plan = importer.plan_import(membership.workspace, table, mapping)
    context["plan"] = plan
    return render(request, "contacts/import_map.html", context, status=200 if plan.ok else 400)


def _do_import(
    request: HttpRequest,
    membership: Membership,
    reference: str,
    table: importer.CsvTable,
    mapping: list[str],
    context: dict[str, Any],
) -> HttpResponse:
    try:
        result = importer.import_contacts(membership.workspace, table, mapping)
    except importer.ImportRejected as exc:
        context["plan"] = exc.plan
        return render(request, "contacts/import_map.html", context, status=400)
    uploads.delete_upload(
        reference, workspace_id=membership.workspace_id, user_id=membership.user_id
    )
    messages.success(
        request,
        _("Imported: %(created)d new contacts, %(updated)d updated, %(unchanged)d unchanged.")
        % {"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
    )
    return redirect("contacts:list", workspace_slug=membership.workspace.slug)


@login_required
def import_cancel(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    uploads.delete_upload(
        request.POST.get("upload", ""),
        workspace_id=membership.workspace_id,
        user_id=membership.user_id,
    )
    return redirect("contacts:list", workspace_slug=workspace_slug)
