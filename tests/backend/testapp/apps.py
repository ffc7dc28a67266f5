from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "tests.backend.testapp"
    label = "testapp"
