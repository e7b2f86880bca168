"""The citizen's login doors, under /<commune>/. The namespace « accounts » also holds the
sign-up and « Mon espace » pages, which live in parvis.families (built around the household,
above accounts in the app chain): parvis/urls.py puts the three lists together."""

from parvis.accounts import views_auth, views_franceconnect

urlpatterns = [*views_auth.urlpatterns, *views_franceconnect.urlpatterns]
