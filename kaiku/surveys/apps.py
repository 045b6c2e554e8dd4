from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "kaiku.surveys"
    label = "surveys"
