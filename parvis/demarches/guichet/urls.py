"""The routes of demarches' agent pages, included by the guichet shell (parvis.backoffice.urls)
under /<commune>/guichet/ in its `backoffice` namespace: no app_name here, so the names stay
`backoffice:demandes`, `backoffice:document`..."""

from django.urls import path

from parvis.demarches.guichet import views_demandes, views_documents

urlpatterns = [
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
