"""The request's life at the service level: numbering, the transition table, e-mails, uploads."""

import itertools
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from parvis.accounts.models import AuditEntry
from parvis.communes.tests.factories import CommuneFactory
from parvis.demarches import services
from parvis.demarches.models import TRANSITIONS, Demande, DemandeCounter, Status
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.families.tests.factories import AgentFactory
from parvis.testing.files import jpeg_bytes, pdf_bytes, png_bytes
from parvis.uploads import MAX_UPLOAD_SIZE, check_upload

pytestmark = pytest.mark.django_db

PDF = pdf_bytes()
PNG = png_bytes()


def filed(procedure, **answers):
    demande = services.start_draft(procedure=procedure, draft_key="k")
    services.save_step(
        demande=demande, step=1, answers={"objet": "Copie", "livraison": "mairie", **answers}
    )
    code = services.submit(
        demande=demande,
        contact_name="Jean TEST",
        contact_email="Jean@Example.fr",
        ip="198.51.100.4",
    )
    demande.refresh_from_db()
    return demande, code


def test_numbers_follow_per_commune_and_year_without_gaps():
    procedure = ProcedureFactory()
    year = timezone.localdate().year
    numbers = [filed(procedure)[0].number for _ in range(3)]
    assert numbers == [f"DEM-{year}-{n:06d}" for n in (1, 2, 3)]
    elsewhere, _code = filed(ProcedureFactory(commune=CommuneFactory()))
    assert elsewhere.number == f"DEM-{year}-000001"


def test_a_failure_during_submission_leaves_no_gap_and_the_draft_intact():
    procedure = ProcedureFactory()
    filed(procedure)
    draft = services.start_draft(procedure=procedure, draft_key="k2")
    with (
        mock.patch.object(services, "_change_status", side_effect=RuntimeError("panne")),
        pytest.raises(RuntimeError),
    ):
        services.submit(demande=draft, contact_name="A", contact_email="a@example.fr")
    draft.refresh_from_db()
    assert (draft.status, draft.number) == (Status.BROUILLON, "")
    assert DemandeCounter.objects.get(commune=procedure.commune).last == 1
    assert filed(procedure)[0].number.endswith("000002")


def test_an_anonymous_request_gets_a_tracking_code_kept_only_as_a_digest():
    demande, code = filed(ProcedureFactory())
    assert code and len(code) == services.TRACKING_CODE_LENGTH
    assert demande.tracking_digest == services.tracking_digest(code)
    assert code not in str(Demande.objects.filter(pk=demande.pk).values().get())
    assert demande.contact_email == "jean@example.fr"
    assert demande.status == Status.EN_ATTENTE
    assert [(e.from_status, e.to_status) for e in demande.events.all()] == [
        ("brouillon", "en_attente")
    ]


def test_an_automatic_procedure_is_accepted_at_once():
    demande, _code = filed(ProcedureFactory(auto_accept=True))
    assert demande.status == Status.ACCEPTEE
    assert demande.closed_at is not None


ALL = list(Status.values)


@pytest.mark.parametrize(("origin", "target"), list(itertools.product(ALL, ALL)))
def test_the_transition_table_is_the_only_way(origin, target):
    procedure = ProcedureFactory()
    demande, _code = filed(procedure)
    Demande.objects.filter(pk=demande.pk).update(status=origin)
    agent = AgentFactory(commune=procedure.commune, roles=["etat_civil"])
    allowed = target in TRANSITIONS[origin] and origin != Status.BROUILLON
    if allowed:
        services.transition(demande=demande, to=target, actor=agent, comment="Motif")
        demande.refresh_from_db()
        assert demande.status == target
        assert AuditEntry.objects.filter(
            action="demande.transition", target_id=str(demande.pk)
        ).exists()
    elif origin == Status.BROUILLON and target == Status.EN_ATTENTE:
        pytest.skip("submission goes through services.submit, tested above")
    else:
        with pytest.raises(services.NotAllowed):
            services.transition(demande=demande, to=target, actor=agent, comment="Motif")
        demande.refresh_from_db()
        assert demande.status == origin


def test_a_refusal_needs_a_reason():
    procedure = ProcedureFactory()
    demande, _code = filed(procedure)
    agent = AgentFactory(commune=procedure.commune, roles=["etat_civil"])
    with pytest.raises(services.NotAllowed):
        services.transition(demande=demande, to=Status.REFUSEE, actor=agent, comment="  ")
    services.transition(
        demande=demande, to=Status.REFUSEE, actor=agent, comment="Acte introuvable."
    )
    demande.refresh_from_db()
    assert demande.status == Status.REFUSEE


def test_emails_at_submission_and_at_each_decision(mailoutbox, django_capture_on_commit_callbacks):
    procedure = ProcedureFactory(title="Demande d'acte de naissance")
    agent = AgentFactory(commune=procedure.commune, roles=["etat_civil"])
    with django_capture_on_commit_callbacks(execute=True):
        demande, code = filed(procedure)
    (receipt,) = mailoutbox
    assert receipt.to == ["jean@example.fr"]
    assert demande.number in receipt.subject and code in receipt.body
    assert f"/{procedure.commune.slug}/demarches/suivi/" in receipt.body
    with django_capture_on_commit_callbacks(execute=True):
        services.take(demande=demande, agent=agent)
        services.ask_complement(
            demande=demande, agent=agent, message="Merci de joindre une pièce d'identité."
        )
    assert [m.subject.rsplit(": ", 1)[-1] for m in mailoutbox[1:]] == [
        "En cours d'instruction",
        "Complément demandé",
    ]
    assert "Merci de joindre une pièce d'identité." in mailoutbox[-1].body
    # The requester's answer puts it back in instruction.
    services.post_message(
        demande=demande,
        body="Voici la pièce.",
        from_requester=True,
        files=[SimpleUploadedFile("id.pdf", PDF)],
    )
    demande.refresh_from_db()
    assert demande.status == Status.EN_COURS
    assert demande.attachments.get().content_type == "application/pdf"


def test_anonymous_follow_up_needs_number_and_code_and_is_throttled():
    procedure = ProcedureFactory()
    demande, code = filed(procedure)
    commune = procedure.commune
    assert (
        services.find_tracked(
            commune=commune, number=demande.number.lower(), code=code.lower(), ip="1.2.3.4"
        )
        == demande
    )
    for _ in range(services.TRACKING_MAX_FAILURES):
        assert (
            services.find_tracked(
                commune=commune, number=demande.number, code="MAUVAIS", ip="1.2.3.4"
            )
            is None
        )
    with pytest.raises(services.NotAllowed):
        services.find_tracked(commune=commune, number=demande.number, code=code, ip="1.2.3.4")
    # Another address is not locked; another commune never finds it.
    assert (
        services.find_tracked(commune=commune, number=demande.number, code=code, ip="5.6.7.8")
        == demande
    )
    assert (
        services.find_tracked(
            commune=CommuneFactory(), number=demande.number, code=code, ip="9.9.9.9"
        )
        is None
    )


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("a.pdf", PDF, "application/pdf"),
        ("photo.jpg", jpeg_bytes(), "image/jpeg"),
        ("scan.PNG", PNG, "image/png"),
        ("sans-extension", PDF, "application/pdf"),
    ],
)
def test_uploads_are_typed_from_their_content(name, content, content_type):
    assert check_upload(SimpleUploadedFile(name, content)) == content_type


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("faux.pdf", b"Ceci n'est pas un PDF", "type"),
        ("page.html", b"<html><script>alert(1)</script>", "type"),
        ("IMG_0001.HEIC", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "heic"),
        ("vide.pdf", b"", "empty"),
    ],
)
def test_uploads_refused_say_why(name, content, code):
    with pytest.raises(ValidationError) as refused:
        check_upload(SimpleUploadedFile(name, content))
    assert refused.value.code == code
    assert name in refused.value.messages[0]


def test_the_size_limit_is_10_mb_exactly():
    assert (
        check_upload(SimpleUploadedFile("ok.pdf", pdf_bytes(size=MAX_UPLOAD_SIZE)))
        == "application/pdf"
    )
    with pytest.raises(ValidationError) as refused:
        check_upload(SimpleUploadedFile("gros.pdf", pdf_bytes(size=MAX_UPLOAD_SIZE + 1)))
    assert refused.value.code == "too_big"


def test_stored_files_never_use_the_senders_name():
    procedure = ProcedureFactory()
    demande = services.start_draft(procedure=procedure, draft_key="k")
    services.save_step(
        demande=demande,
        step=2,
        answers={},
        files={"piece": SimpleUploadedFile("../../etc/passwd.pdf", PDF)},
    )
    attachment = demande.attachments.get()
    assert attachment.original_name == "passwd.pdf"  # Django keeps only the base name
    assert ".." not in attachment.file.name and "passwd" not in attachment.file.name
    assert attachment.file.name.endswith(".pdf")
