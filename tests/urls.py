"""URLs for tests that go through Django's request handlers."""

urlpatterns: list = []
