from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from parvis.portal import views, views_media, views_status

app_name = "portal"

# Under /<commune>/ (the commune middleware turns the slug into request.commune).
commune_patterns = [
    path("", views.home, name="home"),
    path("theme.css", views.theme_css, name="theme_css"),
    path("infos-pratiques/", views.infos_pratiques, name="infos_pratiques"),
    path("actualites/", views.actualites, name="actualites"),
    path("actualites/<str:reference>/", views.actualite, name="actualite"),
    path("accessibilite/", views.accessibilite, name="accessibilite"),
    path("accessibilite/grille/", views.accessibilite_grille, name="accessibilite_grille"),
    path("mentions-legales/", views.mentions_legales, name="mentions_legales"),
    path("conditions-generales/", views.conditions_generales, name="conditions_generales"),
    path("contacts/", views.contacts, name="contacts"),
    path("affichage/", views.affichage, name="affichage"),
    path("plan-du-site/", views.plan_du_site, name="plan_du_site"),
]

urlpatterns = [
    path("", views.commune_list, name="communes"),
    path("healthz", views.healthz, name="healthz"),
    path("healthz/status", views_status.status, name="status"),
    # Lazy: the hashed name is read from collectstatic's manifest on the first request, not when
    # the URLs load (manage.py migrate runs before collectstatic).
    path(
        "favicon.ico",
        RedirectView.as_view(url=lazy(static, str)("parvis/favicon.svg"), permanent=True),
    ),
    # The display settings outside any commune (the list of communes): « affichage » is reserved.
    path("affichage/", views.affichage, name="affichage_plateforme"),
    path("_dev/outbox/", views.outbox, name="outbox"),
    path("_dev/outbox/<str:key>/", views.outbox_message, name="outbox_message"),
    # settings.MEDIA_URL: logos and news images, from the public store (« media » is reserved).
    path("media/<path:name>", views_media.public_media, name="media"),
    path("<slug:commune>/", include(commune_patterns)),
]
