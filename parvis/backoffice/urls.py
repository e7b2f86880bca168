from django.urls import path

from parvis.backoffice import views, views_demandes, views_documents, views_payeur

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
    path(
        "familles/<int:number>/quotient-familial/",
        views_documents.qf_calculer,
        name="qf_calculer",
    ),
    # The queue of requests (« demandes »), scoped to the agent's services.
    path("demandes/", views_demandes.demandes, name="demandes"),
    path("demandes/export/", views_demandes.demandes_export, name="demandes_export"),
    path("demandes/lot/", views_demandes.demandes_lot, name="demandes_lot"),
    path("demandes/<str:number>/", views_demandes.demande, name="demande"),
    *(
        path(
            f"demandes/<str:number>/{action}/",
            views_demandes.demande_action,
            {"action": action},
            name=f"demande_{action}",
        )
        for action in views_demandes.ACTIONS
    ),
    path(
        "demandes/<str:number>/pieces/<int:pk>/",
        views_demandes.piece_jointe,
        name="piece_jointe",
    ),
    # The families' documents to validate, scoped to the agent's services.
    path("documents/", views_documents.documents, name="documents"),
    path("documents/lot/", views_documents.documents_lot, name="documents_lot"),
    path("documents/<int:pk>/", views_documents.document, name="document"),
    path("documents/<int:pk>/valider/", views_documents.document_valider, name="document_valider"),
    path("documents/<int:pk>/refuser/", views_documents.document_refuser, name="document_refuser"),
    path("documents/<int:pk>/apercu/", views_documents.document_apercu, name="document_apercu"),
    path(
        "documents/<int:pk>/telecharger/",
        views_documents.document_telecharger,
        name="document_telecharger",
    ),
]
