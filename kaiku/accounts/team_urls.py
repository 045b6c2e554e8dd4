"""Team pages under /w/<workspace_slug>/team/ (included by kaiku/urls.py)."""

from django.urls import path

from kaiku.accounts import views

app_name = "team"

urlpatterns = [
    path("", views.team, name="index"),
    path("invite/", views.invite, name="invite"),
    path(
        "invitations/<int:invitation_id>/revoke/",
        views.revoke_invitation,
        name="revoke_invitation",
    ),
    path("members/<int:member_id>/role/", views.change_role, name="change_role"),
    path("members/<int:member_id>/remove/", views.remove_member, name="remove_member"),
    path("leave/", views.leave, name="leave"),
]
