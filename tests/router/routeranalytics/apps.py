from django.apps import AppConfig


class RouterAnalyticsConfig(AppConfig):
    name = "tests.router.routeranalytics"
    label = "routeranalytics"
