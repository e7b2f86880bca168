"""The routes of demarches' agent pages, included by the guichet shell (parvis.backoffice.urls)
under /<commune>/guichet/ in its `backoffice` namespace: no app_name here, so the names stay
`backoffice:demandes`, `backoffice:document`..."""

from django.urls import path

from parvis.demarches.guichet import views_builder, views_demandes, views_documents, views_stats

B = "concepteur/<int:pk>/"
BUILDER = [
    ("", views_builder.demarche, "concepteur_demarche"),
    ("parametres/", views_builder.parametres, "concepteur_parametres"),
    ("etapes/ajouter/", views_builder.etape_ajouter, "concepteur_etape_ajouter"),
    ("etapes/<int:number>/", views_builder.etape, "concepteur_etape"),
    ("etapes/<int:number>/supprimer/", views_builder.etape_supprimer, "concepteur_etape_supprimer"),
    ("etapes/<int:number>/deplacer/", views_builder.etape_deplacer, "concepteur_etape_deplacer"),
    ("etapes/<int:number>/ordre/", views_builder.etape_ordre, "concepteur_etape_ordre"),
    (
        "etapes/<int:number>/champs/ajouter/",
        views_builder.champ_ajouter,
        "concepteur_champ_ajouter",
    ),
    ("champs/<str:name>/", views_builder.champ, "concepteur_champ"),
    ("champs/<str:name>/supprimer/", views_builder.champ_supprimer, "concepteur_champ_supprimer"),
    ("champs/<str:name>/deplacer/", views_builder.champ_deplacer, "concepteur_champ_deplacer"),
    ("documents/", views_builder.documents, "concepteur_documents"),
    ("courriels/", views_builder.courriels, "concepteur_courriels"),
    ("apercu/etape-<int:number>/", views_builder.apercu, "concepteur_apercu"),
    ("publier/", views_builder.publier, "concepteur_publier"),
    ("abandonner/", views_builder.abandonner, "concepteur_abandonner"),
    ("versions/", views_builder.versions, "concepteur_versions"),
    ("versions/<int:version>/restaurer/", views_builder.restaurer, "concepteur_restaurer"),
    ("etat/", views_builder.etat, "concepteur_etat"),
    ("copier/", views_builder.copier, "concepteur_copier"),
    ("partager/", views_builder.partager, "concepteur_partager"),
    ("exporter/", views_builder.exporter, "concepteur_exporter"),
]

urlpatterns = [
    # The procedure builder (issue 21), for its designers and the administrator.
    path("concepteur/", views_builder.liste, name="concepteur"),
    path("concepteur/nouvelle/", views_builder.creer, name="concepteur_creer"),
    path("concepteur/importer/", views_builder.importer, name="concepteur_importer"),
    path("concepteur/bibliotheque/", views_builder.bibliotheque, name="concepteur_bibliotheque"),
    *(path(B + route, view, name=name) for route, view, name in BUILDER),
    path(
        "familles/<int:number>/quotient-familial/",
        views_documents.qf_calculer,
        name="qf_calculer",
    ),
    # The queue of requests (« demandes »), scoped to the agent's services.
    path("demandes/", views_demandes.demandes, name="demandes"),
    path("statistiques/", views_stats.statistiques, name="statistiques"),
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
