"""The event rules page (owners and admins): which incoming events invite to which survey."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from kaiku.accounts.access import get_manager_membership
from kaiku.accounts.models import Membership
from kaiku.webhooks import rules as conditions
from kaiku.webhooks.access import get_rule_for_manager
from kaiku.webhooks.forms import RuleForm
from kaiku.webhooks.models import EventRule, InboundEvent

RECENT_EVENTS = 20


def _rules_page(
    request: HttpRequest, membership: Membership, form: RuleForm, status: int = 200
) -> HttpResponse:
    workspace = membership.workspace
    context = {
        "workspace": workspace,
        "rules": EventRule.objects.filter(workspace=workspace).select_related("survey"),
        "recent": InboundEvent.objects.filter(workspace=workspace)
        .select_related("contact")
        .order_by("-id")[:RECENT_EVENTS],
        "form": form,
    }
    return render(request, "webhooks/rules.html", context, status=status)


@login_required
def rules(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    workspace = membership.workspace
    if request.method == "GET":
        return _rules_page(request, membership, RuleForm(workspace=workspace))
    form = RuleForm(request.POST, workspace=workspace)
    if not form.is_valid():
        return _rules_page(request, membership, form, status=400)
    with transaction.atomic(durable=True):
        EventRule.objects.create(workspace=workspace, **form.cleaned_data)
    messages.success(request, _("The rule is saved."))
    return redirect("webhooks:rules", workspace_slug=workspace_slug)


def _rule_initial(rule: EventRule) -> dict[str, Any]:
    return {
        "event_type": rule.event_type,
        "survey": rule.survey,
        "delay_minutes": rule.delay_minutes,
        "conditions": conditions.to_text(rule.conditions),
        "is_active": rule.is_active,
    }


@login_required
def edit_rule(request: HttpRequest, workspace_slug: str, eventrule_id: int) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    rule = get_rule_for_manager(membership, eventrule_id)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    workspace = membership.workspace
    data = request.POST if request.method == "POST" else None
    form = RuleForm(data, workspace=workspace, initial=_rule_initial(rule))
    if request.method == "GET" or not form.is_valid():
        context = {"workspace": workspace, "rule": rule, "form": form}
        status = 400 if request.method == "POST" else 200
        return render(request, "webhooks/rule.html", context, status=status)
    fields = list(form.cleaned_data)
    for name, value in form.cleaned_data.items():
        setattr(rule, name, value)
    with transaction.atomic(durable=True):
        rule.save(update_fields=fields)
    messages.success(request, _("The rule is saved."))
    return redirect("webhooks:rules", workspace_slug=workspace_slug)


@login_required
def delete_rule(request: HttpRequest, workspace_slug: str, eventrule_id: int) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    rule = get_rule_for_manager(membership, eventrule_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    with transaction.atomic(durable=True):
        rule.delete()
    messages.success(request, _("The rule is deleted."))
    return redirect("webhooks:rules", workspace_slug=workspace_slug)
