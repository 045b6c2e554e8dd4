from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "kaiku.contacts"
    label = "contacts"
