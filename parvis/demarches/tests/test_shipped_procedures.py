"""Every shipped procedure, filed end to end through its own forms: valid answers give a numbered
request; a step sent empty is refused with French messages next to its required fields."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from parvis.demarches import services
from parvis.demarches.catalogue import catalogue_entries
from parvis.demarches.definitions import condition_met, is_required, resolve_date
from parvis.demarches.forms import ADDRESS_PARTS, StepForm
from parvis.demarches.models import Procedure, Status
from parvis.families import demo as families_demo
from parvis.testing.files import pdf_bytes

pytestmark = pytest.mark.django_db

PDF = pdf_bytes()
SLUGS = [entry["slug"] for entry in catalogue_entries()]
PATTERN_EXAMPLES = {
    "^[0-9]{5}$": "78955",
    "^[0-9]{7}$": "1234567",
    "^(0[1-9]|[1-8][0-9]|9[0-5]|2[AB]|97[1-6]|99)$": "78",
}


def valid_value(spec: dict, name: str, answers: dict):
    """POST data for one field that its definition accepts."""
    kind = spec["type"]
    if kind == "address":
        return {f"{name}__street": "5, allée des Tilleuls", f"{name}__postal_code": "78955",
                f"{name}__city": "Carrières-sous-Poissy"}  # fmt: skip
    if kind == "file":
        return {name: SimpleUploadedFile("piece.pdf", PDF)}
    if kind in {"text", "textarea"}:
        value = PATTERN_EXAMPLES.get(spec.get("pattern"), "Réponse de test")
        value = value.ljust(spec.get("min_length", 0), "x")[: spec.get("max_length", 200)]
        return {name: value}
    if kind == "number":
        return {name: str(spec.get("min", 1))}
    if kind == "date":
        low = resolve_date(spec["min_date"]) if "min_date" in spec else None
        high = resolve_date(spec["max_date"]) if "max_date" in spec else None
        day = (
            high - timedelta(days=1)
            if high
            else (low + timedelta(days=1) if low else resolve_date("today"))
        )
        if low and day < low:
            day = low
        return {name: day.isoformat()}
    if kind == "choice":
        return {name: spec["choices"][0][0]}
    if kind == "multiple":
        return {name: [spec["choices"][0][0]]}
    if kind == "yesno":
        return {name: "oui"}
    if kind == "email":
        return {name: "demandeur@example.fr"}
    if kind == "phone":
        return {name: "06 12 34 56 78"}
    raise AssertionError(f"no value for {kind}")


def split(values: dict) -> tuple[dict, dict]:
    data = {k: v for k, v in values.items() if not isinstance(v, SimpleUploadedFile)}
    files = {k: v for k, v in values.items() if isinstance(v, SimpleUploadedFile)}
    return data, files


@pytest.fixture
def loaded(demo_communes):
    from parvis.demarches import demo as demarches_demo

    families_demo.load()
    demarches_demo.load()
    return demo_communes["carrieres-sous-poissy"]


def requester_for(procedure):
    if procedure.without_account:
        return None
    from parvis.accounts.models import User

    return User.objects.get(email=families_demo.CITIZEN_EMAIL)


@pytest.mark.parametrize("slug", SLUGS)
def test_each_shipped_procedure_is_filed_with_valid_answers(loaded, slug):
    procedure = Procedure.objects.get(commune=loaded, slug=slug)
    user = requester_for(procedure)
    demande = services.start_draft(procedure=procedure, user=user, draft_key="test")
    for number, step in enumerate(procedure.definition["steps"], start=1):
        values = {}
        for spec in step["fields"]:
            values.update(valid_value(spec, spec["name"], demande.answers))
        data, files = split(values)
        form = StepForm(
            data, files, procedure=procedure, step=number, answers=demande.answers, user=user
        )
        assert form.is_valid(), (slug, number, form.errors)
        services.save_step(
            demande=demande, step=number, answers=form.cleaned_answers(), files=form.cleaned_files()
        )
    services.submit(
        demande=demande, contact_name="Jean TEST", contact_email="jean@example.fr", ip="192.0.2.1"
    )
    demande.refresh_from_db()
    assert demande.number.startswith("DEM-")
    expected = Status.ACCEPTEE if procedure.auto_accept else Status.EN_ATTENTE
    assert demande.status == expected
    # Answers hidden by their condition are not kept.
    for spec in (f for s in procedure.definition["steps"] for f in s["fields"]):
        if not condition_met(spec, demande.answers):
            assert demande.answers.get(spec["name"]) in (None, "", [])


@pytest.mark.parametrize("slug", SLUGS)
def test_each_shipped_procedure_refuses_an_empty_first_step_in_french(loaded, slug):
    procedure = Procedure.objects.get(commune=loaded, slug=slug)
    user = requester_for(procedure)
    step = procedure.definition["steps"][0]
    required = [
        spec for spec in step["fields"]
        if is_required(spec) and "show_if" not in spec and spec.get("prefill") is None
    ]  # fmt: skip
    with translation.override("fr"):
        form = StepForm({}, {}, procedure=procedure, step=1, answers={}, user=user)
        assert not form.is_valid()
        for spec in required:
            key = (
                f"{spec['name']}__{ADDRESS_PARTS[0]}" if spec["type"] == "address" else spec["name"]
            )
            assert form.errors.get(key) == ["Ce champ est obligatoire."], (slug, key)
