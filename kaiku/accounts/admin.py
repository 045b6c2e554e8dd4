"""Django admin for staff: users, workspaces, memberships, invitations.

Edits here bypass the team rules in actions.py (e.g. "keep one owner"): the
admin is a support tool for the people running the server.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import Membership, TeamInvitation, User, Workspace


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user", "workspace")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin for an email-based user without username or first/last name."""

    form = UserEditForm
    add_form = UserCreationForm
    list_display = ("email", "name", "language", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "language")
    search_fields = ("email", "name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("name", "language")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "name", "usable_password", "password1", "password2"),
            },
        ),
    )
    inlines = (MembershipInline,)

    def get_inlines(self, request: HttpRequest, obj: User | None) -> list[type[InlineModelAdmin]]:
        # Memberships are added once the user exists (Django's two-step user creation).
        return [] if obj is None else list(self.inlines)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "time_zone", "created_at")
    search_fields = ("name", "slug", "brand_name")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at",)
    inlines = (MembershipInline,)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "workspace", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "user__name", "workspace__name", "workspace__slug")
    list_select_related = ("user", "workspace")
    autocomplete_fields = ("user", "workspace")


@admin.register(TeamInvitation)
class TeamInvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "workspace", "role", "invited_by", "created_at", "accepted_at")
    list_filter = ("role", "accepted_at")
    search_fields = ("email", "workspace__name", "workspace__slug")
    list_select_related = ("workspace", "invited_by")
    autocomplete_fields = ("workspace", "invited_by")
    readonly_fields = ("token", "created_at")
