"""The procedure builder's pages at the guichet (issue 21 §1–§6): who may use it, the list with
states and usage, creating a procedure step by step with every option and a condition chosen
from lists, reordering without JavaScript, the preview with its checks, publishing (refused while
broken, with the French message next to what is wrong), versions and restore, the library,
import and export, the e-mails' preview. Every write is audited."""

import copy
import json
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from parvis.accounts.agents import BUILDER_ROLE
from parvis.accounts.models import AgentRole, AuditEntry
from parvis.communes.tests.factories import CommuneFactory, ServiceFactory
from parvis.demarches import services, services_builder
from parvis.demarches.links import step_url
from parvis.demarches.models import Demande, LibraryEntry, Procedure, ProcedureState
from parvis.demarches.tests.factories import SIMPLE_DEFINITION
from parvis.testing.guichet import make_agent, text_of

BASE = "/villebois/guichet/concepteur/"


@pytest.fixture
def service(commune):
    return ServiceFactory(commune=commune, name="État civil", kind="etat_civil")


@pytest.fixture
def admin(commune):
    return make_agent(commune, AgentRole.Role.ADMINISTRATEUR, first_name="Anne", last_name="ROY")


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def procedure(commune, service, admin):
    return services_builder.create_procedure(
        commune=commune,
        actor=admin,
        title="Permis de végétaliser",
        category="Cadre de vie",
        service=service,
        definition=SIMPLE_DEFINITION,
    )


def url(procedure, tail=""):
    return f"{BASE}{procedure.pk}/{tail}"


def test_an_agent_of_another_role_is_refused(agent_client):
    response = agent_client.get(BASE)
    assert response.status_code == 403
    assert "concepteurs de démarches" in text_of(response)


def test_a_designer_may_use_it(client, commune):
    AgentRole.objects.create(
        user=(designer := make_agent(commune, AgentRole.Role.ETAT_CIVIL)), role=BUILDER_ROLE
    )
    client.force_login(designer)
    assert client.get(BASE).status_code == 200


def test_another_communes_procedure_is_a_404(admin_client, service):
    other = CommuneFactory(slug="ailleurs")
    foreign = services_builder.create_procedure(
        commune=other,
        actor=None,
        title="Ailleurs",
        category="X",
        service=ServiceFactory(commune=other),
    )
    assert admin_client.get(url(foreign)).status_code == 404
    assert admin_client.post(url(foreign, "publier/")).status_code == 404


def test_the_list_shows_state_and_usage_in_constant_queries(
    admin_client, procedure, admin, django_assert_max_num_queries
):
    services_builder.publish(procedure=procedure, actor=admin)
    procedure.refresh_from_db()
    demande = services.start_draft(procedure=procedure, draft_key="k")
    services.save_step(demande=demande, step=1, answers={"objet": "x"})
    services.submit(demande=demande, contact_name="A", contact_email="a@example.fr")
    services.start_draft(procedure=procedure, draft_key="k2")  # a draft is not counted
    for n in range(5):
        services_builder.create_procedure(
            commune=procedure.commune,
            actor=admin,
            title=f"Autre {n}",
            category="Z",
            service=procedure.service,
        )
    with django_assert_max_num_queries(12):
        response = admin_client.get(BASE)
    text = text_of(response)
    assert "Permis de végétaliser Cadre de vie Publiée 1 1" in text
    assert "Autre 0 Z Brouillon — 0" in text


def test_create_then_build_a_step_and_fields(admin_client, service, commune):
    response = admin_client.post(
        f"{BASE}nouvelle/",
        {
            "title": "Location de salle",
            "category": "Vie associative",
            "audience": "anyone",
            "service": service.pk,
        },
    )
    procedure = Procedure.objects.get(title="Location de salle")
    assert response.url == url(procedure)
    assert procedure.state == ProcedureState.BROUILLON
    page = text_of(admin_client.get(url(procedure)))
    assert "À corriger avant de publier" in page
    assert "Étape 1 : « fields » doit lister au moins un champ." in page

    response = admin_client.post(
        url(procedure, "etapes/1/champs/ajouter/"),
        {"label": "Salle souhaitée", "type": "choice"},
    )
    assert response.url == url(procedure, "champs/salle_souhaitee/")
    response = admin_client.post(
        url(procedure, "champs/salle_souhaitee/"),
        {
            "label": "Salle souhaitée",
            "required": "on",
            "choices": "Salle des fêtes\npetite | Petite salle",
        },
    )
    assert response.status_code == 302
    admin_client.post(
        url(procedure, "etapes/1/champs/ajouter/"), {"label": "Sono", "type": "yesno"}
    )
    admin_client.post(
        url(procedure, "champs/sono/"),
        {
            "label": "Besoin de la sono",
            "condition_field": "salle_souhaitee",
            "condition_operator": "equals",
            "condition_values": ["salle_souhaitee:salle_des_fetes"],
        },
    )
    procedure.refresh_from_db()
    fields = procedure.draft["steps"][0]["fields"]
    assert fields[0]["choices"] == [
        ["salle_des_fetes", "Salle des fêtes"],
        ["petite", "Petite salle"],
    ]
    assert fields[1]["show_if"] == {"field": "salle_souhaitee", "equals": "salle_des_fetes"}
    page = text_of(admin_client.get(url(procedure)))
    assert "Affiché si « Salle souhaitée » vaut « Salle des fêtes »" in page
    assert "À corriger" not in page
    assert AuditEntry.objects.filter(action="procedure.update").count() == 4


def test_a_fields_options_are_checked_with_the_message_next_to_them(admin_client, procedure):
    response = admin_client.post(
        url(procedure, "champs/objet/"),
        {"label": "Objet", "min_length": "20", "max_length": "10"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "« min_length » dépasse « max_length »." in text_of(response)
    assert 'id="id_min_length_error"' in html or 'aria-invalid="true"' in html
    assert re.search(r"<title>\s*Erreur :", html)


def test_a_condition_equals_takes_one_value(admin_client, procedure):
    response = admin_client.post(
        url(procedure, "champs/adresse/"),
        {
            "label": "Adresse d'envoi",
            "condition_field": "livraison",
            "condition_operator": "equals",
            "condition_values": ["livraison:courrier", "livraison:mairie"],
        },
    )
    assert response.status_code == 200
    assert "se lit avec une seule valeur" in text_of(response)
    response = admin_client.post(
        url(procedure, "champs/adresse/"),
        {
            "label": "Adresse d'envoi",
            "condition_field": "livraison",
            "condition_operator": "in",
            "condition_values": ["livraison:courrier", "livraison:mairie"],
        },
    )
    assert response.status_code == 302
    procedure.refresh_from_db()
    assert procedure.draft["steps"][0]["fields"][2]["show_if"] == {
        "field": "livraison",
        "in": ["courrier", "mairie"],
    }


def test_a_condition_may_look_only_at_earlier_fields(admin_client, procedure):
    response = admin_client.get(url(procedure, "champs/objet/"))
    assert "condition_field" not in response.content.decode()  # nothing before it


def test_reorder_with_buttons_and_by_drag_and_drop(admin_client, procedure):
    admin_client.post(url(procedure, "champs/livraison/deplacer/"), {"sens": "monter"})
    procedure.refresh_from_db()
    names = [f["name"] for f in procedure.draft["steps"][0]["fields"]]
    assert names == ["livraison", "objet", "adresse"]
    admin_client.post(url(procedure, "champs/livraison/deplacer/"), {"sens": "monter"})  # top
    admin_client.post(url(procedure, "etapes/1/ordre/"), {"ordre": "objet,livraison,adresse"})
    procedure.refresh_from_db()
    assert [f["name"] for f in procedure.draft["steps"][0]["fields"]] == [
        "objet",
        "livraison",
        "adresse",
    ]
    admin_client.post(url(procedure, "etapes/1/ordre/"), {"ordre": "objet,objet,adresse"})
    procedure.refresh_from_db()
    assert [f["name"] for f in procedure.draft["steps"][0]["fields"]] == [
        "objet",
        "livraison",
        "adresse",
    ]  # a wrong order changes nothing
    admin_client.post(url(procedure, "etapes/2/deplacer/"), {"sens": "monter"})
    procedure.refresh_from_db()
    assert [s["title"] for s in procedure.draft["steps"]] == ["Pièces", "Ma demande"]


def test_a_field_others_depend_on_is_not_deleted(admin_client, procedure):
    response = admin_client.post(url(procedure, "champs/livraison/supprimer/"), follow=True)
    assert "s'affichent selon sa réponse" in text_of(response)
    admin_client.post(url(procedure, "champs/adresse/supprimer/"))
    admin_client.post(url(procedure, "champs/livraison/supprimer/"))
    procedure.refresh_from_db()
    assert [f["name"] for f in procedure.draft["steps"][0]["fields"]] == ["objet"]


def test_preview_checks_answers_and_follows_conditions(admin_client, procedure):
    response = admin_client.get(url(procedure, "apercu/etape-1/"))
    assert response.status_code == 200
    text = text_of(response)
    assert "Aperçu" in text and "Permis de végétaliser" in text and "1 - Ma demande" in text
    response = admin_client.post(url(procedure, "apercu/etape-1/"), {"objet": ""})
    assert response.status_code == 200
    assert "Ce champ est obligatoire" in text_of(response)
    response = admin_client.post(
        url(procedure, "apercu/etape-1/"), {"objet": "Arbre", "livraison": "mairie"}
    )
    assert response.url == url(procedure, "apercu/etape-2/") + "?reprendre"
    admin_client.post(url(procedure, "apercu/etape-2/"), {})
    response = admin_client.get(url(procedure, "apercu/etape-3/"))
    text = text_of(response)
    assert "Objet Arbre" in text and "Adresse d'envoi" not in text
    assert not procedure.demandes.exists()  # nothing filed


def test_publish_refused_while_broken_then_published(admin_client, procedure):
    admin_client.post(url(procedure, "etapes/ajouter/"), {"title": "Vide"})
    response = admin_client.get(url(procedure))
    assert "Étape 3 : « fields » doit lister au moins un champ." in text_of(response)
    assert "concepteur_publier" not in response.content.decode()
    response = admin_client.post(url(procedure, "publier/"), follow=True)
    assert "Publication impossible : Étape 3" in text_of(response)
    admin_client.post(url(procedure, "etapes/3/supprimer/"))
    response = admin_client.post(url(procedure, "publier/"), follow=True)
    assert "Version 1 publiée" in text_of(response)
    procedure.refresh_from_db()
    assert procedure.state == ProcedureState.PUBLIEE
    # On the citizens' side.
    assert admin_client.get(f"/villebois/demarches/{procedure.slug}/").status_code == 200


def test_versions_page_and_restore(admin_client, procedure, admin):
    v1 = services_builder.publish(procedure=procedure, actor=admin)
    admin_client.post(url(procedure, "champs/objet/"), {"label": "Objet v2"})
    admin_client.post(url(procedure, "publier/"))
    text = text_of(admin_client.get(url(procedure, "versions/")))
    assert "2 (en ligne)" in text and "Anne ROY" in text
    admin_client.post(url(procedure, f"versions/{v1.pk}/restaurer/"))
    procedure.refresh_from_db()
    assert procedure.current_version.number == 3
    assert procedure.definition["steps"][0]["fields"][0]["label"] == "Objet"


def test_library_copy_and_share(admin_client, procedure, admin):
    page = text_of(admin_client.get(f"{BASE}bibliotheque/"))
    assert "Demande d'acte de naissance" in page
    response = admin_client.post(f"{BASE}bibliotheque/", {"entree": "parvis:acte-de-naissance"})
    copied = Procedure.objects.get(title="Demande d'acte de naissance")
    assert response.url == url(copied) and copied.state == ProcedureState.BROUILLON
    assert admin_client.post(f"{BASE}bibliotheque/", {"entree": "parvis:rien"}).status_code == 404
    services_builder.publish(procedure=procedure, actor=admin)
    admin_client.post(url(procedure, "partager/"))
    shared = LibraryEntry.objects.get()
    assert "Villebois" in text_of(admin_client.get(f"{BASE}bibliotheque/"))
    assert shared.entry["title"] == "Permis de végétaliser"


def test_export_then_import(admin_client, procedure):
    response = admin_client.get(url(procedure, "exporter/"))
    assert response["Content-Disposition"] == 'attachment; filename="permis-de-vegetaliser.json"'
    entry = json.loads(response.content)
    upload = SimpleUploadedFile("d.json", json.dumps(entry).encode(), "application/json")
    response = admin_client.post(f"{BASE}importer/", {"file": upload})
    imported = Procedure.objects.get(slug="permis-de-vegetaliser-2")
    assert response.url == url(imported) and imported.draft == SIMPLE_DEFINITION

    entry["definition"]["steps"][0]["fields"][1]["choices"] = []
    upload = SimpleUploadedFile("d.json", json.dumps(entry).encode(), "application/json")
    response = admin_client.post(f"{BASE}importer/", {"file": upload})
    assert response.status_code == 200
    assert "Fichier refusé : Étape 1, champ 2 (livraison)" in text_of(response)
    upload = SimpleUploadedFile("d.json", b"{pas du json", "application/json")
    response = admin_client.post(f"{BASE}importer/", {"file": upload})
    assert "pas un fichier JSON valide" in text_of(response)


def test_emails_preview_and_save(admin_client, procedure):
    data = {
        "processing_days": "10",
        "confirmation": "Réponse sous 10 jours.",
        "subject_acceptee": "{demarche} : acceptée",
        "body_acceptee": "Bonjour {nom}, votre demande {numero} est acceptée.",
        "action": "apercu",
    }
    response = admin_client.post(url(procedure, "courriels/"), data)
    text = text_of(response)
    assert "Bonjour Françoise DURAND, votre demande DEM-2026-000123 est acceptée." in text
    procedure.refresh_from_db()
    assert procedure.emails == {}  # a preview saves nothing
    response = admin_client.post(url(procedure, "courriels/"), {**data, "action": "enregistrer"})
    assert response.status_code == 302
    procedure.refresh_from_db()
    assert procedure.processing_days == 10
    assert procedure.emails["acceptee"]["subject"] == "{demarche} : acceptée"
    response = admin_client.post(
        url(procedure, "courriels/"), {**data, "body_acceptee": "Bonjour {prenom}"}
    )
    assert response.status_code == 200
    assert "Repère inconnu : {prenom}" in text_of(response)


def test_disable_and_reactivate(admin_client, procedure, admin):
    services_builder.publish(procedure=procedure, actor=admin)
    admin_client.post(url(procedure, "etat/"), {"etat": "desactiver"})
    procedure.refresh_from_db()
    assert procedure.state == ProcedureState.DESACTIVEE
    admin_client.post(url(procedure, "etat/"), {"etat": "activer"})
    procedure.refresh_from_db()
    assert procedure.state == ProcedureState.PUBLIEE


def test_an_overrun_of_the_processing_time_shows_in_the_queue(admin_client, procedure, admin):
    services_builder.publish(procedure=procedure, actor=admin)
    procedure.refresh_from_db()
    late, recent = (services.start_draft(procedure=procedure, draft_key=k) for k in "ab")
    for demande in (late, recent):
        services.save_step(demande=demande, step=1, answers={"objet": "x"})
        services.submit(demande=demande, contact_name="A", contact_email="a@example.fr")
    queue = "/villebois/guichet/demandes/"
    assert "Délai dépassé" not in text_of(admin_client.get(queue))  # no target time
    services_builder.update_workflow(
        procedure=procedure, actor=admin, emails={}, processing_days=10, confirmation=""
    )
    now = timezone.now()
    Demande.objects.filter(pk=late.pk).update(submitted_at=now - timedelta(days=10, minutes=1))
    Demande.objects.filter(pk=recent.pk).update(submitted_at=now - timedelta(days=9, hours=23))
    assert text_of(admin_client.get(queue)).count("Délai dépassé") == 1
    late.refresh_from_db()
    services.transition(demande=late, to="acceptee", actor=admin)
    assert "Délai dépassé" not in text_of(admin_client.get(queue))  # closed


def test_a_draft_started_on_version_1_goes_on_with_its_questions(client, procedure, admin):
    services_builder.publish(procedure=procedure, actor=admin)
    procedure.refresh_from_db()
    client.post(f"/villebois/demarches/{procedure.slug}/")  # « Commencer », without an account
    demande = Demande.objects.get(procedure=procedure)
    changed = copy.deepcopy(SIMPLE_DEFINITION)
    changed["steps"][0]["fields"][0]["label"] = "Objet de la version 2"
    services_builder.save_draft(procedure=procedure, actor=admin, definition=changed, what="x")
    services_builder.publish(procedure=procedure, actor=admin)
    text = text_of(client.get(step_url(demande, 1)))
    assert "Objet" in text and "Objet de la version 2" not in text

    newcomer = Client()
    newcomer.post(f"/villebois/demarches/{procedure.slug}/")
    later = Demande.objects.filter(procedure=procedure).latest("pk")
    assert later.version.number == 2
    assert "Objet de la version 2" in text_of(newcomer.get(step_url(later, 1)))


def test_pages_and_writes_in_constant_queries(
    admin_client, procedure, admin, django_assert_max_num_queries
):
    big = copy.deepcopy(SIMPLE_DEFINITION)
    big["steps"][0]["fields"] += [
        {"name": f"champ_{n}", "label": f"Champ {n}", "type": "text"} for n in range(40)
    ]
    services_builder.save_draft(procedure=procedure, actor=admin, definition=big, what="x")
    with django_assert_max_num_queries(10):
        assert admin_client.get(url(procedure)).status_code == 200
    with django_assert_max_num_queries(10):
        assert admin_client.get(url(procedure, "champs/champ_39/")).status_code == 200
    with django_assert_max_num_queries(14):
        admin_client.post(url(procedure, "champs/champ_39/deplacer/"), {"sens": "monter"})
    with django_assert_max_num_queries(16):
        admin_client.post(url(procedure, "publier/"))
    procedure.refresh_from_db()
    assert procedure.current_version.number == 1
