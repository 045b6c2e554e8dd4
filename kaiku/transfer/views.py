"""Pages: import (upload → mapping → dry run → import), exports, audit log, privacy, contact GDPR.

Owners and admins only: these pages read and change everyone's personal data.
Every view resolves the workspace (and the object) through an access helper
first, so an outsider gets 404 whatever the method.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from kaiku.accounts.access import get_manager_membership
from kaiku.accounts.models import Membership
from kaiku.contacts.models import Contact
from kaiku.surveys.models import Survey
from kaiku.transfer import exporters, imports
from kaiku.transfer.audit import audit
from kaiku.transfer.forms import MappingForm, RetentionForm, UploadForm
from kaiku.transfer.gdpr import erase_contact, export_contact
from kaiku.transfer.importers import ImportFailed, get_format, read_header
from kaiku.transfer.importers.mapping import MappingError
from kaiku.transfer.importers.runner import resolve_mapping
from kaiku.transfer.models import (
    AuditAction,
    AuditLog,
    ImportRun,
    ImportStatus,
    WorkspaceDataPolicy,
)
from kaiku.transfer.workspace_export import export_workspace

AUDIT_PAGE = 100
RUNNING = (ImportStatus.QUEUED, ImportStatus.RUNNING)


def get_import_for_manager(membership: Membership, importrun_id: int) -> ImportRun:
    run = ImportRun.objects.filter(workspace_id=membership.workspace_id, pk=importrun_id).first()
    if run is None:
        raise Http404
    return run


def get_contact_for_manager(membership: Membership, contact_id: int) -> Contact:
    contact = Contact.objects.filter(workspace_id=membership.workspace_id, pk=contact_id).first()
    if contact is None:
        raise Http404
    return contact


# --- Import -----------------------------------------------------------------------------


@login_required
def import_list(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    workspace = membership.workspace
    surveys = list(Survey.objects.filter(workspace=workspace).order_by("name"))
    form = UploadForm(request.POST or None, request.FILES or None, surveys=surveys)
    if request.method == "POST" and form.is_valid():
        run = imports.store_upload(
            workspace, form.cleaned_data["file"], form.cleaned_data["file"].name, user=request.user
        )
        ImportRun.objects.filter(pk=run.pk).update(
            source=form.cleaned_data["format"], survey_id=form.survey_id()
        )
        return redirect(
            "transfer:import_detail", workspace_slug=workspace_slug, importrun_id=run.pk
        )
    runs = ImportRun.objects.filter(workspace=workspace).select_related("survey", "created_by")[:50]
    context = {"workspace": workspace, "membership": membership, "form": form, "runs": runs}
    return render(request, "transfer/import_list.html", context, status=400 if form.errors else 200)


@login_required
@never_cache
def import_detail(request: HttpRequest, workspace_slug: str, importrun_id: int) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    run = get_import_for_manager(membership, importrun_id)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    fmt = get_format(run.source)
    headers, problem = _headers(run) if fmt.is_csv and run.stored_path else ([], "")
    saved = (run.mapping or {}).get("columns", {})
    mapping = _suggested(fmt, headers, saved)
    form = MappingForm(request.POST or None, headers=headers, mapping=mapping, initial=run.mapping)
    if request.method == "POST":
        action = request.POST.get("action")
        if form.is_valid() and _start(request, run, form, headers, action):
            return redirect(
                "transfer:import_detail", workspace_slug=workspace_slug, importrun_id=run.pk
            )
    context = {
        "workspace": membership.workspace,
        "membership": membership,
        "run": run,
        "format": fmt,
        "form": form,
        "problem": problem,
        "refresh": run.status in RUNNING,
        "can_import": run.status == ImportStatus.CHECKED,
        "editable": run.status in (ImportStatus.UPLOADED, ImportStatus.CHECKED, ImportStatus.FAILED)
        and bool(run.stored_path),
    }
    return render(
        request, "transfer/import_detail.html", context, status=400 if form.errors else 200
    )


def _headers(run: ImportRun) -> tuple[list[str], str]:
    try:
        headers, _delimiter = read_header(Path(run.stored_path))
    except (ImportFailed, OSError) as exc:
        return [], getattr(exc, "message", str(exc))
    return headers, ""


def _suggested(fmt: Any, headers: list[str], saved: dict[str, str]) -> dict[str, str]:
    from kaiku.transfer.importers.formats import merge_mapping

    return merge_mapping(fmt.default_mapping(headers), saved) if headers else {}


def _start(
    request: HttpRequest, run: ImportRun, form: MappingForm, headers: list[str], action: str | None
) -> bool:
    if action not in ("check", "import"):
        form.add_error(None, _("Choose to check the file or to import it."))
        return False
    if action == "import" and run.status != ImportStatus.CHECKED:
        form.add_error(None, _("Check the file with a dry run first."))
        return False
    settings_ = {
        "columns": form.mapping(),
        "date_format": form.cleaned_data["date_format"],
        "time_zone": form.cleaned_data["time_zone"],
    }
    if headers:
        try:
            resolve_mapping(
                get_format(run.source), headers, imports.run_options(_with(run, settings_))
            )
        except MappingError as exc:
            for column, message in exc.problems:
                form.add_error(None, f"{column}: {message}" if column else message)
            return False
    ImportRun.objects.filter(pk=run.pk).update(mapping=settings_)
    run.mapping = settings_
    if not imports.queue_run(run, dry_run=action == "check", actor=request.user):
        form.add_error(None, _("This import is already running or finished."))
        return False
    return True


def _with(run: ImportRun, settings_: dict[str, Any]) -> ImportRun:
    run.mapping = settings_
    return run


# --- Export -------------------------------------------------------------------------------


@login_required
def export_page(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    context = {
        "workspace": membership.workspace,
        "membership": membership,
        "exports": list(exporters.EXPORTS.values()),
        "surveys": Survey.objects.filter(workspace=membership.workspace).order_by("name"),
    }
    return render(request, "transfer/export.html", context)


@login_required
def export_download(
    request: HttpRequest, workspace_slug: str, name: str, fmt: str
) -> HttpResponseBase:
    membership = get_manager_membership(request, workspace_slug)
    workspace = membership.workspace
    if name == "workspace" and fmt == "json":
        return _workspace_download(request, membership)
    spec = exporters.EXPORTS.get(name)
    if spec is None or fmt not in exporters.FORMATS:
        raise Http404
    try:
        filters = exporters.clean_filters(spec, request.GET)
    except exporters.BadFilter as problem:
        return HttpResponseBadRequest(str(problem), content_type="text/plain; charset=utf-8")
    audit(
        workspace,
        request.user,
        AuditAction.EXPORT_DOWNLOADED,
        details={"export": name, "format": fmt, **{k: str(v) for k, v in filters.items()}},
    )
    response = StreamingHttpResponse(
        exporters.stream(spec, fmt, workspace, filters),
        content_type="text/csv; charset=utf-8" if fmt == "csv" else "application/json",
    )
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = (
        f'attachment; filename="{workspace.slug}-{name}-{stamp}.{fmt}"'
    )
    return response


def _workspace_download(request: HttpRequest, membership: Membership) -> HttpResponseBase:
    workspace = membership.workspace
    audit(workspace, request.user, AuditAction.WORKSPACE_EXPORTED, workspace)
    response = StreamingHttpResponse(export_workspace(workspace), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{workspace.slug}-workspace.json"'
    return response


# --- Audit log and privacy ----------------------------------------------------------------


@login_required
def audit_list(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    entries = AuditLog.objects.filter(workspace=membership.workspace).select_related("user")
    page = Paginator(entries, AUDIT_PAGE).get_page(request.GET.get("page"))
    context = {"workspace": membership.workspace, "membership": membership, "page": page}
    return render(request, "transfer/audit.html", context)


@login_required
def privacy(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    workspace = membership.workspace
    policy, _created = WorkspaceDataPolicy.objects.get_or_create(workspace=workspace)
    form = RetentionForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit(
            workspace,
            request.user,
            AuditAction.RETENTION_CHANGED,
            object_type="workspace",
            object_id=workspace.pk,
            details={"retention_months": form.cleaned_data["retention_months"]},
        )
        messages.success(request, _("The retention period is saved."))
        return redirect("transfer:privacy", workspace_slug=workspace_slug)
    context = {"workspace": workspace, "membership": membership, "form": form, "policy": policy}
    return render(request, "transfer/privacy.html", context, status=400 if form.errors else 200)


# --- One contact --------------------------------------------------------------------------


@login_required
def contact_gdpr_export(request: HttpRequest, workspace_slug: str, contact_id: int) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    contact = get_contact_for_manager(membership, contact_id)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    data = export_contact(contact, actor=request.user)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
    return response


@login_required
def contact_erase(request: HttpRequest, workspace_slug: str, contact_id: int) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    contact = get_contact_for_manager(membership, contact_id)
    if request.method == "POST":
        result = erase_contact(contact, actor=request.user)
        messages.success(
            request,
            _("The contact is erased; %(n)d answers are kept without personal data.")
            % {"n": result.responses},
        )
        return redirect("contacts:list", workspace_slug=workspace_slug)
    context = {
        "workspace": membership.workspace,
        "membership": membership,
        "contact": contact,
        "responses": contact.responses.count(),
        "invitations": contact.invitations.count(),
    }
    return render(request, "transfer/contact_erase.html", context)
