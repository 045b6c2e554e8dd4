"""Import, export, audit and privacy pages under /w/<workspace_slug>/ (see kaiku/urls.py)."""

from django.urls import path

from kaiku.transfer import views

app_name = "transfer"

urlpatterns = [
    path("import/", views.import_list, name="import_list"),
    path("import/<int:importrun_id>/", views.import_detail, name="import_detail"),
    path("export/", views.export_page, name="export"),
    path("export/<str:name>.<str:fmt>", views.export_download, name="export_download"),
    path("audit/", views.audit_list, name="audit"),
    path("privacy/", views.privacy, name="privacy"),
    path(
        "contacts/<int:contact_id>/gdpr-export/",
        views.contact_gdpr_export,
        name="contact_export",
    ),
    path("contacts/<int:contact_id>/erase/", views.contact_erase, name="contact_erase"),
]
