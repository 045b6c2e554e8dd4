"""Log in and out, password reset, and the public teammate invitation link."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from kaiku.accounts import views
from kaiku.accounts.forms import KaikuPasswordResetForm, LoginForm

app_name = "accounts"

# Template names differ from Django's defaults on purpose: django.contrib.admin
# ships registration/password_reset_*.html and, being listed first in
# INSTALLED_APPS, its copies would win over ours.
urlpatterns = [
    path(
        "login/",
        views.LoginView.as_view(
            template_name="registration/login.html",
            authentication_form=LoginForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            form_class=KaikuPasswordResetForm,
            template_name="registration/password_reset_request.html",
            success_url=reverse_lazy("accounts:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="registration/password_reset_sent.html"
        ),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/password_reset_new_password.html",
            success_url=reverse_lazy("accounts:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/password_reset_finished.html"
        ),
        name="password_reset_complete",
    ),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
]
