from django.urls import include, path

from parvis.backoffice import views, views_payeur, views_travaux

app_name = "backoffice"

# Under /<commune>/guichet/.
urlpatterns = [
    path("", views.accueil, name="accueil"),
    path("connexion/", views.connexion, name="connexion"),
    path("deconnexion/", views.deconnexion, name="deconnexion"),
    path("familles/nouvelle/", views.famille_creer, name="famille_creer"),
    path("familles/<int:number>/", views.famille, name="famille"),
    path("familles/<int:number>/modifier/", views.famille_modifier, name="famille_modifier"),
    path(
        "familles/<int:number>/membres/ajouter/<str:kind>/",
        views.membre_ajouter,
        name="membre_ajouter",
    ),
    path(
        "familles/<int:number>/membres/<int:pk>/modifier/",
        views.membre_modifier,
        name="membre_modifier",
    ),
    path(
        "familles/<int:number>/personnes-autorisees/ajouter/",
        views.personne_autorisee_ajouter,
        name="personne_autorisee_ajouter",
    ),
    path(
        "familles/<int:number>/personnes-autorisees/<int:pk>/modifier/",
        views.personne_autorisee_modifier,
        name="personne_autorisee_modifier",
    ),
    path(
        "familles/<int:number>/personnes-autorisees/<int:pk>/retirer/",
        views.personne_autorisee_retirer,
        name="personne_autorisee_retirer",
    ),
    path("familles/<int:number>/payeur/", views_payeur.payeur, name="payeur"),
    path("familles/<int:number>/cles/generer/", views.cle_generer, name="cle_generer"),
    path("familles/<int:number>/cles/<int:pk>/revoquer/", views.cle_revoquer, name="cle_revoquer"),
    path("familles/<int:number>/code-famille/", views.code_famille, name="code_famille"),
    # A background job the agent started (bulk decisions, reminders): its progress.
    path("travaux/<int:pk>/", views_travaux.travail, name="travail"),
    # demarches' agent pages (family quotient, requests, documents): same namespace and names.
    path("", include("parvis.demarches.guichet.urls")),
]
