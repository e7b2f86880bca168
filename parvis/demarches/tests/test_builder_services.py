"""The builder's writes (issue 21 §5, §6): versions that never change a started request,
publishing refused while broken, restore, copy, library and import, each audited."""

import copy

import pytest

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.communes.tests.factories import CommuneFactory, ServiceFactory
from parvis.demarches import builder, services, services_builder
from parvis.demarches.catalogue import catalogue_entries, load_catalogue
from parvis.demarches.definitions import DefinitionError
from parvis.demarches.models import Demande, LibraryEntry, ProcedureState, Status
from parvis.demarches.tests.factories import SIMPLE_DEFINITION
from parvis.testing.guichet import make_agent


@pytest.fixture
def commune(db):
    return CommuneFactory(name="Villebois", slug="villebois")


@pytest.fixture
def service(commune):
    return ServiceFactory(commune=commune, name="État civil", kind="etat_civil")


@pytest.fixture
def agent(commune):
    return make_agent(commune, AgentRole.Role.ADMINISTRATEUR, first_name="Anne", last_name="ROY")


def new_procedure(commune, service, agent, definition=SIMPLE_DEFINITION):
    return services_builder.create_procedure(
        commune=commune,
        actor=agent,
        title="Permis de végétaliser",
        category="Cadre de vie",
        service=service,
        definition=definition,
    )


def test_a_new_procedure_is_a_draft_not_offered_until_published(commune, service, agent):
    procedure = new_procedure(commune, service, agent)
    assert procedure.slug == "permis-de-vegetaliser"
    assert procedure.state == ProcedureState.BROUILLON
    assert not procedure.is_enabled and procedure.current_version is None
    with pytest.raises(services.NotAllowed):
        services.start_draft(procedure=procedure, draft_key="k")
    version = services_builder.publish(procedure=procedure, actor=agent)
    procedure.refresh_from_db()
    assert version.number == 1 and version.published_by == agent
    assert version.published_by_label == "Anne ROY"
    assert procedure.state == ProcedureState.PUBLIEE
    assert procedure.draft is None and procedure.definition == SIMPLE_DEFINITION
    assert list(
        AuditEntry.objects.filter(target_id=str(procedure.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["procedure.create", "procedure.publish"]


def test_a_second_procedure_of_the_same_title_gets_its_own_slug(commune, service, agent):
    new_procedure(commune, service, agent)
    assert new_procedure(commune, service, agent).slug == "permis-de-vegetaliser-2"


def test_publishing_a_broken_draft_is_refused_and_says_where(commune, service, agent):
    procedure = new_procedure(commune, service, agent, definition=builder.STARTER)
    with pytest.raises(DefinitionError, match="Étape 1 : « fields »"):
        services_builder.publish(procedure=procedure, actor=agent)
    procedure.refresh_from_db()
    assert procedure.state == ProcedureState.BROUILLON
    assert builder.problem(procedure.draft)[1:] == (1, None)


def test_nothing_to_publish_without_a_change(commune, service, agent):
    procedure = new_procedure(commune, service, agent)
    services_builder.publish(procedure=procedure, actor=agent)
    procedure.refresh_from_db()
    with pytest.raises(services_builder.BuilderError):
        services_builder.publish(procedure=procedure, actor=agent)


def test_a_started_and_a_filed_request_keep_their_version(commune, service, agent):
    procedure = new_procedure(commune, service, agent)
    v1 = services_builder.publish(procedure=procedure, actor=agent)
    procedure.refresh_from_db()
    filed = services.start_draft(procedure=procedure, draft_key="a")
    services.save_step(demande=filed, step=1, answers={"objet": "x"})
    services.submit(demande=filed, contact_name="A", contact_email="a@example.fr")
    draft = services.start_draft(procedure=procedure, draft_key="b")

    changed = copy.deepcopy(procedure.definition)
    changed["steps"][0]["fields"][0]["label"] = "Objet de la demande (v2)"
    services_builder.save_draft(procedure=procedure, actor=agent, definition=changed, what="x")
    procedure.refresh_from_db()
    assert procedure.definition == SIMPLE_DEFINITION  # citizens still see v1 until published
    v2 = services_builder.publish(procedure=procedure, actor=agent)
    assert v2.number == 2

    filed, draft = Demande.objects.get(pk=filed.pk), Demande.objects.get(pk=draft.pk)
    assert filed.version == v1 and draft.version == v1
    assert filed.definition["steps"][0]["fields"][0]["label"] == "Objet"
    later = services.start_draft(procedure=Demande.objects.get(pk=filed.pk).procedure)
    assert later.version == v2
    assert later.definition["steps"][0]["fields"][0]["label"] == "Objet de la demande (v2)"
    v1.refresh_from_db()
    assert v1.definition == SIMPLE_DEFINITION  # never changed


def test_restore_publishes_an_old_version_again_as_a_new_one(commune, service, agent):
    procedure = new_procedure(commune, service, agent)
    v1 = services_builder.publish(procedure=procedure, actor=agent)
    changed = copy.deepcopy(SIMPLE_DEFINITION)
    changed["steps"].pop()
    services_builder.save_draft(procedure=procedure, actor=agent, definition=changed, what="x")
    services_builder.publish(procedure=procedure, actor=agent)
    v3 = services_builder.restore(procedure=procedure, version=v1, actor=agent)
    procedure.refresh_from_db()
    assert v3.number == 3 and v3.note == "Restauration de la version 1"
    assert procedure.definition == SIMPLE_DEFINITION and procedure.current_version == v3
    assert procedure.versions.count() == 3
    entry = AuditEntry.objects.get(action="procedure.restore")
    assert entry.changes == {"version": [2, 3], "restored": [None, 1]}


def test_restore_refuses_another_procedures_version(commune, service, agent):
    one, two = new_procedure(commune, service, agent), new_procedure(commune, service, agent)
    version = services_builder.publish(procedure=one, actor=agent)
    with pytest.raises(services_builder.BuilderError):
        services_builder.restore(procedure=two, version=version, actor=agent)


def test_disable_and_enable(commune, service, agent):
    procedure = new_procedure(commune, service, agent)
    with pytest.raises(services_builder.BuilderError):
        services_builder.set_enabled(procedure=procedure, actor=agent, enabled=True)
    services_builder.publish(procedure=procedure, actor=agent)
    procedure = services_builder.set_enabled(procedure=procedure, actor=agent, enabled=False)
    assert procedure.state == ProcedureState.DESACTIVEE
    assert AuditEntry.objects.get(action="procedure.state").changes == {"is_enabled": [True, False]}
    changed = copy.deepcopy(SIMPLE_DEFINITION)
    changed["steps"].pop()
    services_builder.save_draft(procedure=procedure, actor=agent, definition=changed, what="x")
    services_builder.publish(procedure=procedure, actor=agent)
    procedure.refresh_from_db()
    assert procedure.state == ProcedureState.DESACTIVEE  # a new version does not switch it on


def test_copy_keeps_the_questions_as_a_new_draft(commune, service, agent):
    procedure = new_procedure(commune, service, agent)
    services_builder.publish(procedure=procedure, actor=agent)
    procedure.refresh_from_db()
    duplicate = services_builder.copy_procedure(procedure=procedure, actor=agent)
    assert duplicate.title == "Copie de Permis de végétaliser"
    assert duplicate.state == ProcedureState.BROUILLON
    assert duplicate.draft == SIMPLE_DEFINITION


def test_the_catalogue_records_version_1_once_and_a_new_one_when_it_changes(commune, service):
    procedures = load_catalogue(commune)
    assert all(p.current_version.number == 1 for p in procedures)
    load_catalogue(commune)  # idempotent
    assert {p.versions.count() for p in procedures} == {1}


def test_share_then_another_commune_copies_from_the_library(commune, service, agent):
    procedure = new_procedure(commune, service, agent)
    with pytest.raises(services_builder.BuilderError):
        services_builder.share(procedure=procedure, actor=agent)
    services_builder.publish(procedure=procedure, actor=agent)
    shared = services_builder.share(procedure=procedure, actor=agent)
    assert shared.shared_by == commune and LibraryEntry.objects.count() == 1

    other = CommuneFactory(name="Autreville", slug="autreville")
    other_service = ServiceFactory(commune=other, name="Accueil", kind="autre")
    other_agent = make_agent(other, AgentRole.Role.ADMINISTRATEUR)
    copied = services_builder.create_from_entry(
        commune=other, entry=shared.entry, actor=other_agent, source="bibliothèque"
    )
    assert copied.commune == other and copied.service == other_service
    assert copied.draft == SIMPLE_DEFINITION and copied.state == ProcedureState.BROUILLON


def test_every_shipped_procedure_can_be_taken_from_the_library(commune, service, agent):
    for entry in catalogue_entries():
        procedure = services_builder.create_from_entry(
            commune=commune, entry=entry, actor=agent, source="catalogue"
        )
        assert procedure.draft == entry["definition"]


def test_an_imported_file_is_checked(commune, service, agent):
    entry = services_builder.export_entry(new_procedure(commune, service, agent))
    entry["definition"]["steps"][0]["fields"][0]["type"] = "couleur"
    with pytest.raises(DefinitionError, match="type 'couleur' inconnu"):
        services_builder.create_from_entry(
            commune=commune, entry=entry, actor=agent, source="import"
        )
    with pytest.raises(DefinitionError):
        services_builder.create_from_entry(
            commune=commune, entry=["pas", "un objet"], actor=agent, source="import"
        )
    entry = services_builder.export_entry(new_procedure(commune, service, agent))
    for key, value in (("title", "T" * 201), ("duration_minutes", -1)):
        with pytest.raises(DefinitionError, match=key):
            services_builder.create_from_entry(
                commune=commune, entry={**entry, key: value}, actor=agent, source="import"
            )


def test_custom_email_per_status_with_placeholders(
    commune, service, agent, mailoutbox, django_capture_on_commit_callbacks
):
    procedure = new_procedure(commune, service, agent)
    services_builder.publish(procedure=procedure, actor=agent)
    services_builder.update_workflow(
        procedure=procedure,
        actor=agent,
        emails={
            Status.ACCEPTEE: {
                "subject": "{demarche} {numero} : {etat}",
                "body": "Bonjour {nom}, votre demande {numero} est {etat}.",
            }
        },
        processing_days=10,
        confirmation="Merci.",
    )
    procedure.refresh_from_db()
    assert procedure.draft["confirmation"] == "Merci."
    demande = services.start_draft(procedure=procedure, draft_key="a")
    services.save_step(demande=demande, step=1, answers={"objet": "x"})
    with django_capture_on_commit_callbacks(execute=True):
        services.submit(demande=demande, contact_name="Léa MARTIN", contact_email="l@example.fr")
    with django_capture_on_commit_callbacks(execute=True):
        services.transition(demande=demande, to=Status.ACCEPTEE, actor=agent)
    demande.refresh_from_db()
    accepted = mailoutbox[-1]
    assert accepted.subject == f"Permis de végétaliser {demande.number} : Acceptée"
    assert f"Bonjour Léa MARTIN, votre demande {demande.number} est Acceptée." in accepted.body
    # The submission keeps the standard e-mail (no custom one for « en attente »).
    assert "a bien été enregistrée" in mailoutbox[0].body


def test_unknown_placeholder_is_refused(commune, service, agent):
    procedure = new_procedure(commune, service, agent)
    with pytest.raises(services_builder.BuilderError, match="prenom"):
        services_builder.update_workflow(
            procedure=procedure,
            actor=agent,
            emails={Status.ACCEPTEE: {"subject": "x", "body": "Bonjour {prenom}"}},
            processing_days=None,
            confirmation="",
        )
