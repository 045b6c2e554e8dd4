from django.apps import AppConfig


class ThemesConfig(AppConfig):
    name = "kaiku.themes"
    label = "themes"
    verbose_name = "Comment themes"
