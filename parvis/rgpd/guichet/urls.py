"""The commune administrator's personal-data pages, under /<commune>/guichet/donnees-personnelles/
(namespace `guichet_rgpd`)."""

from django.urls import path

from parvis.rgpd.guichet import views

app_name = "guichet_rgpd"

urlpatterns = [
    path("", views.conservation, name="conservation"),
    path("registre/", views.registre, name="registre"),
]
