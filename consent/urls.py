"""The consent app's pages: the customer's preference page (public, reached by a signed link)."""

app_name = "consent"
urlpatterns: list = []
