"""Admin for answers (read-only: they change only through record_response) and kiosks."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from kaiku.responses.models import KioskDevice, Response


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin[Response]):
    list_display = ("id", "survey", "score", "channel", "language", "created_at")
    list_filter = ("channel", "language", "survey__workspace")
    list_select_related = ("survey",)
    search_fields = ("comment", "source_ref")
    date_hierarchy = "created_at"
    # edit_token stays out of view: it reopens an anonymous answer for editing.
    exclude = ("edit_token",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)


@admin.register(KioskDevice)
class KioskDeviceAdmin(admin.ModelAdmin[KioskDevice]):
    list_display = ("name", "survey", "location", "is_active", "kiosk_link", "created_at")
    list_filter = ("is_active", "workspace")
    list_select_related = ("survey",)
    readonly_fields = ("kiosk_link",)
    fields = ("workspace", "survey", "name", "location", "is_active", "kiosk_link")

    @admin.display(description="Kiosk page")
    def kiosk_link(self, obj: KioskDevice) -> SafeString | str:
        if obj.pk is None:
            return "-"
        url = reverse("respond:kiosk", args=[obj.key])
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)
