from django.apps import AppConfig


class RouterAppConfig(AppConfig):
    name = "tests.router.routerapp"
    label = "routerapp"
