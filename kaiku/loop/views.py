"""Case pages: My cases, the team board, the case page and its actions.

Thin views: the access helper first (outsiders 404 whatever the method), then
the method, then parse, call one action, redirect. Every member reads cases;
owners and admins work all of them, agents their own and unassigned ones,
viewers none.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from kaiku.accounts.access import get_membership
from kaiku.accounts.models import MANAGER_ROLES, Membership, Role, User
from kaiku.loop import actions
from kaiku.loop.access import can_work, get_case_for_member, require_work
from kaiku.loop.categories import categories
from kaiku.loop.errors import CaseError
from kaiku.loop.filters import CaseFilter, ordered
from kaiku.loop.forms import AssignForm, NoteForm, ReplyForm, ResolveForm, StatusForm, workers
from kaiku.loop.models import (
    DONE_STATUSES,
    TRANSITIONS,
    Case,
    CaseReply,
    CaseStatus,
    EventKind,
)
from kaiku.loop.replies import prefill, reply_language, retry_reply
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey

PAGE_SIZE = 50
HISTORY = 20


def _cases(membership: Membership) -> QuerySet[Case]:
    return Case.objects.filter(workspace_id=membership.workspace_id).select_related(
        "survey", "contact", "assignee", "response"
    )


def _list_context(
    request: HttpRequest, membership: Membership, flt: CaseFilter, board: bool
) -> dict[str, Any]:
    now = timezone.now()
    rows = ordered(flt.apply(_cases(membership), membership.user_id, now))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "workspace": membership.workspace,
        "membership": membership,
        "flt": flt,
        "page_obj": page,
        "now": now,
        "board": board,
        "statuses": CaseStatus.choices,
        "surveys": Survey.objects.filter(workspace_id=membership.workspace_id),
        "members": workers(membership.workspace),
        "loop_tab": "board" if board else "inbox",
    }


@login_required
def inbox(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """My cases: assigned to me; the unassigned ones below, for the taking."""
    membership = get_membership(request, workspace_slug)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    flt = replace(CaseFilter.from_query(request.GET), assignee="me")
    context = _list_context(request, membership, flt, board=False)
    unassigned = _cases(membership).filter(assignee__isnull=True, status=CaseStatus.OPEN)
    context["unassigned"] = list(ordered(unassigned)[:20])
    context["can_take"] = membership.role != Role.VIEWER
    return render(request, "loop/inbox.html", context)


@login_required
def board(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """The team board: every case, filtered by status, assignee, survey and overdue."""
    membership = get_membership(request, workspace_slug)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    flt = CaseFilter.from_query(request.GET)
    return render(request, "loop/board.html", _list_context(request, membership, flt, board=True))


@login_required
def case_detail(request: HttpRequest, workspace_slug: str, case_id: int) -> HttpResponse:
    membership = get_membership(request, workspace_slug)
    case = get_case_for_member(membership, case_id)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    reply_form = ReplyForm()
    template = request.GET.get("template") or ""
    if template and case.contact is not None:
        subject, body = prefill(case, template, _user(request))
        reply_form = ReplyForm(initial={"template": template, "subject": subject, "body": body})
    return _case_page(request, membership, case, reply_form)


def _case_page(
    request: HttpRequest,
    membership: Membership,
    case: Case,
    reply_form: ReplyForm,
    status: int = 200,
) -> HttpResponse:
    workspace = membership.workspace
    context = {
        "workspace": workspace,
        "membership": membership,
        "case": case,
        "answer": case.response,
        "contact": case.contact,
        "overdue": case.is_overdue(),
        "can_work": can_work(membership, case),
        "is_manager": membership.role in MANAGER_ROLES,
        "timeline": timeline(case),
        "history": _history(case),
        "next_statuses": [(s, CaseStatus(s).label) for s in sorted(TRANSITIONS[case.status])],
        "is_done": case.status in DONE_STATUSES,
        "assign_form": AssignForm(workspace=workspace, initial={"assignee": case.assignee_id}),
        "note_form": NoteForm(),
        "reply_form": reply_form,
        "reply_language": reply_language(case) if case.contact else "",
        "resolve_form": ResolveForm(workspace=workspace, initial={"category": case.category_id}),
        "has_categories": categories(workspace, active_only=True).exists(),
        "loop_tab": "inbox" if case.assignee_id == membership.user_id else "board",
    }
    return render(request, "loop/case.html", context, status=status)


def timeline(case: Case) -> list[dict[str, Any]]:
    """Events, notes and replies in time order (a note's or reply's event is the entry itself)."""
    entries: list[dict[str, Any]] = [
        {"type": "event", "at": e.created_at, "item": e}
        for e in case.events.select_related("actor").exclude(
            kind__in=[EventKind.NOTE, EventKind.REPLY]
        )
    ]
    entries += [
        {"type": "note", "at": n.created_at, "item": n} for n in case.notes.select_related("author")
    ]
    entries += [
        {"type": "reply", "at": r.created_at, "item": r}
        for r in case.replies.select_related("author")
    ]
    return sorted(entries, key=lambda entry: (entry["at"], entry["type"]))


def _history(case: Case) -> list[Response]:
    """The contact's answers to every survey, newest first (with their cases, if any)."""
    if case.contact_id is None:
        return []
    return list(
        Response.objects.filter(contact_id=case.contact_id, workspace_id=case.workspace_id)
        .select_related("survey", "case")
        .order_by("-created_at")[:HISTORY]
    )


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _for_action(request: HttpRequest, workspace_slug: str, case_id: int) -> tuple[Membership, Case]:
    """Access, then the method: outsiders get 404 for any method, members 405 for GET."""
    membership = get_membership(request, workspace_slug)
    case = get_case_for_member(membership, case_id)
    require_work(membership, case)
    return membership, case


def _back(case: Case, anchor: str = "") -> HttpResponse:
    response = redirect("loop:case", workspace_slug=case.workspace.slug, case_id=case.pk)
    if anchor:
        response["Location"] += f"#{anchor}"
    return response


def _fail(request: HttpRequest, case: Case, exc: CaseError) -> HttpResponse:
    messages.error(request, str(exc.message))
    return _back(case)


@login_required
def assign(request: HttpRequest, workspace_slug: str, case_id: int) -> HttpResponse:
    membership, case = _for_action(request, workspace_slug, case_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = AssignForm(request.POST, workspace=membership.workspace)
    if not form.is_valid():
        messages.error(request, _("Choose a member."))
        return _back(case)
    try:
        actions.assign(case, form.cleaned_data["assignee"], actor=_user(request))
    except CaseError as exc:
        return _fail(request, case, exc)
    messages.success(request, _("Assignee saved."))
    return _back(case)


@login_required
def take(request: HttpRequest, workspace_slug: str, case_id: int) -> HttpResponse:
    """Assign an unassigned case to oneself (the inbox's Take button)."""
    _membership, case = _for_action(request, workspace_slug, case_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        actions.assign(case, _user(request), actor=_user(request))
    except CaseError as exc:
        return _fail(request, case, exc)
    messages.success(request, _("The case is yours."))
    return _back(case)


@login_required
def change_status(request: HttpRequest, workspace_slug: str, case_id: int) -> HttpResponse:
    _membership, case = _for_action(request, workspace_slug, case_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status."))
        return _back(case)
    try:
        actions.change_status(case, form.cleaned_data["status"], actor=_user(request))
    except CaseError as exc:
        return _fail(request, case, exc)
    messages.success(request, _("Status saved."))
    return _back(case)


@login_required
def add_note(request: HttpRequest, workspace_slug: str, case_id: int) -> HttpResponse:
    _membership, case = _for_action(request, workspace_slug, case_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write the note first."))
        return _back(case)
    try:
        actions.add_note(case, form.cleaned_data["body"], actor=_user(request))
    except CaseError as exc:
        return _fail(request, case, exc)
    messages.success(request, _("Note added."))
    return _back(case, "timeline")


@login_required
def reply(request: HttpRequest, workspace_slug: str, case_id: int) -> HttpResponse:
    membership, case = _for_action(request, workspace_slug, case_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = ReplyForm(request.POST)
    user = _user(request)
    if form.is_valid() and user is not None:
        data = form.cleaned_data
        try:
            actions.reply_to_customer(case, data["subject"], data["body"], actor=user)
        except CaseError as exc:
            form.add_error(None, str(exc.message))
        else:
            messages.success(request, _("Reply queued; its delivery shows in the timeline."))
            return _back(case, "timeline")
    return _case_page(request, membership, case, form, status=400)


@login_required
def retry(
    request: HttpRequest, workspace_slug: str, case_id: int, casereply_id: int
) -> HttpResponse:
    _membership, case = _for_action(request, workspace_slug, case_id)
    failed = CaseReply.objects.filter(case=case, pk=casereply_id).first()
    if failed is None:
        return _back(case)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if retry_reply(failed):
        from kaiku.loop.tasks import send_case_reply

        send_case_reply.enqueue(failed.pk)
        messages.success(request, _("The reply will be sent again."))
    return _back(case, "timeline")


@login_required
def resolve(request: HttpRequest, workspace_slug: str, case_id: int) -> HttpResponse:
    membership, case = _for_action(request, workspace_slug, case_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = ResolveForm(request.POST, workspace=membership.workspace)
    if not form.is_valid():
        messages.error(request, _("Choose a root cause / resolution."))
        return _back(case)
    user = _user(request)
    try:
        if case.status in DONE_STATUSES:
            actions.set_category(case, form.cleaned_data["category"], actor=user)
        else:
            actions.resolve(case, form.cleaned_data["category"], actor=user)
    except CaseError as exc:
        return _fail(request, case, exc)
    messages.success(request, _("Case resolved."))
    return _back(case)


@login_required
def reopen(request: HttpRequest, workspace_slug: str, case_id: int) -> HttpResponse:
    _membership, case = _for_action(request, workspace_slug, case_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        actions.reopen(case, actor=_user(request))
    except CaseError as exc:
        return _fail(request, case, exc)
    messages.success(request, _("Case reopened."))
    return _back(case)
