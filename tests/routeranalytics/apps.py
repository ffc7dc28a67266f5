from django.apps import AppConfig


class RouterAnalyticsConfig(AppConfig):
    name = "tests.routeranalytics"
    label = "routeranalytics"
