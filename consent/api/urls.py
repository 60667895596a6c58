"""The consent app's API under /api/v1/: data-subject requests."""

urlpatterns: list = []
