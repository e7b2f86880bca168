"""Citizens' account pages, under /<commune>/ (one module per flow)."""

from parvis.accounts import views_auth, views_espace, views_signup

app_name = "accounts"

urlpatterns = [*views_signup.urlpatterns, *views_auth.urlpatterns, *views_espace.urlpatterns]
