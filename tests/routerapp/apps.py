from django.apps import AppConfig


class RouterAppConfig(AppConfig):
    name = "tests.routerapp"
    label = "routerapp"
