"""Procedures in the admin, tried from the outside as in parvis/communes/tests/test_admin.py: a
commune's administrator edits their commune's definitions (a broken one comes back with its
error and the other entries kept), switches procedures on and off, and can neither see, open,
change nor choose another commune's rows; only the operator deletes, and never a procedure
that has requests."""

import json
from types import SimpleNamespace

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.urls import reverse

from parvis.communes.tests.factories import (
    CommuneAdminFactory,
    CommuneFactory,
    OperatorFactory,
    ServiceFactory,
)
from parvis.communes.tests.test_admin import form_data, submit
from parvis.demarches.admin import STARTER_DEFINITION
from parvis.demarches.definitions import in_reading_order
from parvis.demarches.models import Demande, Procedure
from parvis.demarches.tests.factories import SIMPLE_DEFINITION, ProcedureFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:demarches_procedure_changelist"
INVALID_CHOICE = "Sélectionnez un choix valide"


def change_url(procedure):
    return reverse("admin:demarches_procedure_change", args=[procedure.pk])


def delete_url(procedure):
    return reverse("admin:demarches_procedure_delete", args=[procedure.pk])


def page(response) -> str:
    return response.content.decode()


def assert_not_found(response):
    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def commune_with_procedure(tag):
    commune = CommuneFactory(name=f"Ville{tag}", slug=f"ville-{tag.lower()}")
    service = ServiceFactory(commune=commune, name=f"EtatCivil{tag}", kind="etat_civil")
    procedure = ProcedureFactory(
        commune=commune, service=service, title=f"Demande{tag}", slug="acte-de-naissance"
    )
    return SimpleNamespace(
        commune=commune,
        service=service,
        procedure=procedure,
        markers=[f"Ville{tag}", f"EtatCivil{tag}", f"Demande{tag}"],
    )


@pytest.fixture
def a():
    return commune_with_procedure("Alpha")


@pytest.fixture
def b():
    return commune_with_procedure("Beta")


@pytest.fixture
def as_admin_a(client, a):
    client.force_login(CommuneAdminFactory(commune=a.commune))
    return client


@pytest.fixture
def as_operator(client):
    client.force_login(OperatorFactory())
    return client


def assert_shows_none_of(response, rows):
    for marker in rows.markers:
        assert marker not in page(response), f"{marker} leaked"


def broken_definition():
    broken = json.loads(json.dumps(SIMPLE_DEFINITION))
    broken["steps"][0]["fields"][2]["show_if"] = {"field": "inconnu", "equals": "courrier"}
    return broken


# --- Listing ------------------------------------------------------------------------------------


def test_admin_lists_only_their_communes_procedures(as_admin_a, a, b):
    response = as_admin_a.get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [a.procedure]
    assert "DemandeAlpha" in page(response)
    assert_shows_none_of(response, b)


def test_filters_and_search_do_not_reach_another_commune(as_admin_a, a, b):
    for query in (
        {"q": "Beta"},
        {"q": "acte-de-naissance"},
        {"service__id__exact": b.service.pk},
        {"commune__id__exact": b.commune.pk},
    ):
        response = as_admin_a.get(reverse(CHANGELIST), query)
        assert response.status_code in {200, 302, 400}
        assert_shows_none_of(as_admin_a.get(reverse(CHANGELIST), query, follow=True), b)


def test_index_offers_procedures_to_a_commune_admin(as_admin_a):
    response = as_admin_a.get(reverse("admin:index"))

    assert reverse(CHANGELIST) in page(response)
    assert "Démarches" in page(response)


def test_operator_sees_every_commune(as_operator, a, b):
    response = as_operator.get(reverse(CHANGELIST))

    assert set(response.context["cl"].result_list) == {a.procedure, b.procedure}
    assert "VilleAlpha" in page(response) and "VilleBeta" in page(response)


# --- Editing the definition ---------------------------------------------------------------------


def test_the_definition_is_shown_as_indented_json_in_a_monospace_textarea(as_admin_a, a):
    response = as_admin_a.get(change_url(a.procedure))
    text = page(response)

    textarea = response.context["adminform"].form["definition"]
    assert 'class="parvis-definition"' in str(textarea)
    assert 'style="' not in str(textarea)  # the CSP allows no inline style
    assert "demarches/admin.css" in text
    shown = form_data(response)["definition"]
    # In reading order (name, label, type…) whatever the database keeps: jsonb reorders keys.
    assert shown == json.dumps(in_reading_order(SIMPLE_DEFINITION), ensure_ascii=False, indent=2)
    assert json.loads(shown) == SIMPLE_DEFINITION
    first_field = shown.index('"name": "objet"')
    assert first_field < shown.index('"label": "Objet"') < shown.index('"type": "text"')
    assert "Pièce d'identité" in shown  # not \u00e8


def test_a_valid_definition_is_saved(as_admin_a, a):
    new = json.loads(json.dumps(SIMPLE_DEFINITION))
    new["steps"][0]["fields"][0]["label"] = "Objet de la demande"

    response = submit(
        as_admin_a, change_url(a.procedure), definition=json.dumps(new), title="Nouveau titre"
    )

    assert response.status_code == 302, response.context and response.context["errors"]
    a.procedure.refresh_from_db()
    assert a.procedure.definition == new
    assert a.procedure.title == "Nouveau titre"
    assert a.procedure.commune == a.commune
    assert LogEntry.objects.filter(object_id=str(a.procedure.pk), action_flag=CHANGE).exists()
    # Published as a new version (issue 21), as the builder does; saved again unchanged: none.
    assert a.procedure.current_version.definition == new
    assert a.procedure.current_version.note == "Admin"
    versions = a.procedure.versions.count()
    submit(as_admin_a, change_url(a.procedure), definition=json.dumps(new), title="Encore")
    assert a.procedure.versions.count() == versions


def test_a_broken_definition_comes_back_with_its_error_and_the_other_entries(as_admin_a, a):
    typed = json.dumps(broken_definition(), ensure_ascii=False, indent=2)

    response = submit(as_admin_a, change_url(a.procedure), definition=typed, title="Titre corrigé")

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["definition"] == [
        "Étape 1 (adresse) : « show_if » vise un champ de cette étape ou d'une précédente."
    ]
    assert "« show_if » vise un champ de cette étape" in page(response)
    kept = form_data(response)
    assert kept["title"] == "Titre corrigé"
    assert json.loads(kept["definition"]) == broken_definition()
    a.procedure.refresh_from_db()
    assert a.procedure.definition == SIMPLE_DEFINITION
    assert a.procedure.title == "DemandeAlpha"


def test_text_that_is_not_json_is_refused_in_french_and_kept_as_typed(as_admin_a, a):
    typed = '{\n  "steps": [\n    {"title": "Ma demande",}\n  ]\n}'

    response = submit(as_admin_a, change_url(a.procedure), definition=typed)

    assert response.status_code == 200
    (error,) = response.context["adminform"].form.errors["definition"]
    assert error.startswith("Ce texte n'est pas du JSON valide (ligne 3, colonne")
    assert form_data(response)["definition"] == typed
    a.procedure.refresh_from_db()
    assert a.procedure.definition == SIMPLE_DEFINITION


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Ce champ est obligatoire."),
        ('"une phrase"', "La définition doit être un objet JSON."),
        ("[]", "Ce champ est obligatoire."),
        ('{"steps": []}', "« steps » doit lister au moins une étape."),
        (
            '{"steps": [{"title": "A", "fields": [{"name": "d", "label": "D", "type": "date",'
            ' "max_date": "today+99999999d"}]}]}',
            "Étape 1, champ 1 (d) : « max_date » doit être une date AAAA-MM-JJ ou today, "
            "today-16y…",
        ),
    ],
)
def test_other_wrong_definitions(as_admin_a, a, typed, message):
    response = submit(as_admin_a, change_url(a.procedure), definition=typed)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["definition"] == [message]


def test_a_new_procedure_starts_from_a_sound_definition_and_lands_in_their_commune(as_admin_a, a):
    url = reverse("admin:demarches_procedure_add")
    data = form_data(as_admin_a.get(url))
    assert json.loads(data["definition"]) == STARTER_DEFINITION
    data.update(
        title="Inscription à la brocante",
        slug="brocante",
        category="Vie locale",
        audience="anyone",
        service=str(a.service.pk),
    )

    response = as_admin_a.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    created = Procedure.objects.get(slug="brocante")
    assert created.commune == a.commune and created.definition == STARTER_DEFINITION


def test_a_slug_taken_in_their_commune_is_refused_without_error_500(as_admin_a, a, b):
    url = reverse("admin:demarches_procedure_add")
    data = form_data(as_admin_a.get(url))
    data.update(
        title="Doublon",
        slug="acte-de-naissance",  # A's own procedure has it (B's too)
        category="Actes d'état civil",
        audience="anyone",
        service=str(a.service.pk),
    )

    response = as_admin_a.post(url, data)

    assert response.status_code == 200
    assert "existe déjà" in page(response)
    assert Procedure.objects.filter(slug="acte-de-naissance").count() == 2


# --- Another commune's rows ---------------------------------------------------------------------


def test_admin_cannot_open_another_communes_procedure(as_admin_a, b):
    for url in (
        change_url(b.procedure),
        reverse("admin:demarches_procedure_history", args=[b.procedure.pk]),
    ):
        assert_not_found(as_admin_a.get(url))
        assert_shows_none_of(as_admin_a.get(url, follow=True), b)


def test_admin_cannot_change_another_communes_procedure(as_admin_a, a, b):
    data = form_data(as_admin_a.get(change_url(a.procedure)))
    data["title"] = "Piraté"

    response = as_admin_a.post(change_url(b.procedure), data)

    assert_not_found(response)
    b.procedure.refresh_from_db()
    assert b.procedure.title == "DemandeBeta"


def test_admin_is_offered_only_their_communes_services(as_admin_a, a, b):
    ServiceFactory(commune=a.commune, name="RégieAlpha", kind="regie")
    response = as_admin_a.get(change_url(a.procedure))

    choices = response.context["adminform"].form.fields["service"].queryset
    assert {s.commune_id for s in choices} == {a.commune.pk}
    assert "EtatCivilBeta" not in page(response)


def test_admin_cannot_pick_another_communes_service(as_admin_a, a, b):
    response = submit(as_admin_a, change_url(a.procedure), service=str(b.service.pk))

    assert response.status_code == 200
    assert INVALID_CHOICE in page(response)
    a.procedure.refresh_from_db()
    assert a.procedure.service == a.service


def test_operator_cannot_give_a_procedure_another_communes_service(as_operator, a, b):
    response = submit(as_operator, change_url(a.procedure), service=str(b.service.pk))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["service"] == [
        "Ce service appartient à une autre commune."
    ]
    # The operator's list names each service's commune.
    assert "VilleBeta — EtatCivilBeta" in page(response)


# --- Enabling, disabling ------------------------------------------------------------------------


def run_action(client, action, *procedures):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [p.pk for p in procedures]},
        follow=True,
    )


def test_disable_then_enable(as_admin_a, a):
    other = ProcedureFactory(commune=a.commune, service=a.service, title="AutreAlpha")

    response = run_action(as_admin_a, "disable", a.procedure, other)

    assert "2 démarches désactivées" in page(response)
    assert not Procedure.objects.filter(pk__in=[a.procedure.pk, other.pk], is_enabled=True)
    assert LogEntry.objects.filter(object_id=str(other.pk), action_flag=CHANGE).exists()

    response = run_action(as_admin_a, "enable", a.procedure)

    assert "1 démarche activée" in page(response)
    a.procedure.refresh_from_db()
    other.refresh_from_db()
    assert a.procedure.is_enabled and not other.is_enabled


def test_actions_ignore_another_communes_procedures(as_admin_a, a, b):
    run_action(as_admin_a, "disable", a.procedure, b.procedure)

    a.procedure.refresh_from_db()
    b.procedure.refresh_from_db()
    assert not a.procedure.is_enabled
    assert b.procedure.is_enabled


def test_actions_are_offered_in_french(as_admin_a):
    response = as_admin_a.get(reverse(CHANGELIST))

    assert "Activer les démarches sélectionnées" in page(response)
    assert "Désactiver les démarches sélectionnées" in page(response)
    assert "delete_selected" not in page(response)


# --- Deleting -----------------------------------------------------------------------------------


def test_a_commune_admin_never_deletes_a_procedure(as_admin_a, a):
    response = as_admin_a.post(delete_url(a.procedure), {"post": "yes"})

    assert response.status_code == 403
    assert Procedure.objects.filter(pk=a.procedure.pk).exists()


def test_operator_deletes_a_procedure_without_requests_only(as_operator, a, b):
    Demande.objects.create(commune=b.commune, procedure=b.procedure)

    assert as_operator.post(delete_url(b.procedure), {"post": "yes"}).status_code == 403
    assert as_operator.post(delete_url(a.procedure), {"post": "yes"}).status_code == 302
    assert Procedure.objects.filter(pk=b.procedure.pk).exists()
    assert not Procedure.objects.filter(pk=a.procedure.pk).exists()


def test_bulk_delete_keeps_procedures_with_requests(as_operator, a, b):
    Demande.objects.create(commune=b.commune, procedure=b.procedure)

    response = as_operator.post(
        reverse(CHANGELIST),
        {
            "action": "delete_selected",
            "_selected_action": [a.procedure.pk, b.procedure.pk],
            "post": "yes",
        },
    )

    assert response.status_code in {200, 302}  # Django lists the protected requests
    assert Procedure.objects.filter(pk=b.procedure.pk).exists()
