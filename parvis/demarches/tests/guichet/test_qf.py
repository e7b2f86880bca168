"""The family quotient at the guichet: the calculator (« Calculer » previews the parts and the QF
to the cent, « Enregistrer » records it from the tax notice), a QF given as is (CAF certificate,
set by an agent), who may do it, the audit rows, and the family file's QF and history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.communes.tests.factories import CommuneFactory
from parvis.demarches.guichet.forms_documents import EuroField
from parvis.families.models import QuotientFamilial
from parvis.families.services import record_quotient
from parvis.families.tests.factories import ChildFactory, FamilleFactory, PersonneFactory
from parvis.testing.guichet import make_agent, text_of

pytestmark = pytest.mark.django_db

PAGE = "/villebois/guichet/familles/1/quotient-familial/"
FILE = "/villebois/guichet/familles/1/"


def calc(client, *, action="calculer", income="30 000", benefits="150", situation="couple",
         children="2", start="", end="", **extra):  # fmt: skip
    today = timezone.localdate()
    return client.post(
        PAGE,
        {
            "action": action,
            "calcul-income": income,
            "calcul-benefits": benefits,
            "calcul-situation": situation,
            "calcul-children": children,
            "calcul-valid_from": start or f"{today.year}-01-01",
            "calcul-valid_until": end or f"{today.year}-12-31",
            **extra,
        },
    )


def preview(response):
    return response.context["preview"]


@pytest.fixture
def household(famille):
    """A couple with two children."""
    PersonneFactory(famille=famille, first_names="Françoise")
    PersonneFactory(famille=famille, first_names="Marc", civility="m")
    ChildFactory(famille=famille, first_names="Hugo")
    ChildFactory(famille=famille, first_names="Léa")
    return famille


def test_the_calculator_is_prefilled_from_the_household(agent_client, household):
    response = agent_client.get(PAGE)

    assert response.status_code == 200
    form = response.context["calculator"]
    year = timezone.localdate().year
    assert form["situation"].value() == "couple"
    assert form["children"].value() == 2
    assert form["valid_from"].value() == date(year, 1, 1)
    assert form["valid_until"].value() == date(year, 12, 31)
    text = text_of(response)
    assert "Aucun QF valide : tarif le plus élevé." in text
    assert "Couple : 2 ; personne seule : 1 ; parent isolé : + 0,5." in text
    assert "Par enfant : 1er enfant : 0,5; 2e enfant : 0,5; 3e enfant et suivants : 1." in text


def test_a_single_parent_is_prefilled_as_such(agent_client, famille):
    PersonneFactory(famille=famille)
    ChildFactory(famille=famille)
    form = agent_client.get(PAGE).context["calculator"]
    assert form["situation"].value() == "isole" and form["children"].value() == 1


def test_calculer_shows_parts_and_qf_to_the_cent_and_records_nothing(agent_client, household):
    response = calc(agent_client)

    assert response.status_code == 200
    assert preview(response) == {
        "parts": "3",
        "monthly_income": "2\xa0500,00",
        "benefits": "150,00",
        "value": "883,33",
    }
    text = text_of(response)
    assert "Nombre de parts 3" in text
    assert "(2 500,00 € + 150,00 €) / 3 = 883,33 €" in text
    assert "Quotient familial 883,33 €" in text
    # The agent's entries stay as typed.
    assert 'value="30 000"' in response.content.decode()
    assert not QuotientFamilial.objects.exists()
    assert not AuditEntry.objects.filter(action="quotient.record").exists()


@pytest.mark.parametrize(
    ("situation", "children", "income", "benefits", "parts", "value"),
    [
        # The brief's example: couple + 2 children = 3 parts.
        ("couple", "2", "30 000", "150", "3", "883,33"),
        # A single parent gets the bonus half part with at least one child…
        ("isole", "1", "24000", "0", "2", "1\xa0000,00"),
        # … and not without children.
        ("isole", "0", "24000", "", "1", "2\xa0000,00"),
        ("couple", "0", "24000", "", "2", "1\xa0000,00"),
        # The third child counts a whole part, and so does each next one.
        ("couple", "3", "36000", "0", "4", "750,00"),
        ("couple", "4", "36000", "0", "5", "600,00"),
        ("isole", "3", "36000", "0", "3,5", "857,14"),
        # Rounded once, half up: 1 000,01 / 2 = 500,005 → 500,01.
        ("couple", "0", "12000", "0,01", "2", "500,01"),
        # 1 000 / 3 = 333,333… → 333,33; 2 000 / 3 = 666,666… → 666,67.
        ("couple", "2", "12000", "0", "3", "333,33"),
        ("couple", "2", "24000", "0", "3", "666,67"),
        # No income at all.
        ("couple", "1", "0", "0", "2,5", "0,00"),
    ],
)
def test_the_parts_rules_at_their_edges(
    agent_client, famille, situation, children, income, benefits, parts, value
):
    response = calc(
        agent_client, situation=situation, children=children, income=income, benefits=benefits
    )
    assert (preview(response)["parts"], preview(response)["value"]) == (parts, value)


def test_the_communes_own_rules_are_used(agent_client, commune, famille):
    commune.qf_parts_rules = {
        "couple": "2", "single": "1", "single_parent_bonus": "1", "children": ["0.5", "1"],
    }  # fmt: skip
    commune.save()
    response = calc(agent_client, situation="isole", children="3", income="36000", benefits="0")
    # 1 + 1 (bonus) + 0.5 + 1 + 1 = 4.5 parts; 3 000 / 4.5 = 666,666… → 666,67.
    assert preview(response) == {
        "parts": "4,5",
        "monthly_income": "3\xa0000,00",
        "benefits": "0,00",
        "value": "666,67",
    }
    assert "Par enfant : 1er enfant : 0,5; 2e enfant et suivants : 1." in text_of(response)


def test_enregistrer_records_the_computed_qf_with_its_source_and_audit(
    agent_client, household, enfance_agent
):
    year = timezone.localdate().year
    response = calc(agent_client, action="enregistrer")

    assert response.status_code == 302 and response["Location"] == f"{FILE}#quotient"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"Quotient familial de 883,33 € enregistré, valable du 01/01/{year} au 31/12/{year}."
    ]
    quotient = QuotientFamilial.objects.get()
    assert quotient.value == Decimal("883.33")
    assert quotient.source == "avis_imposition"
    assert (quotient.valid_from, quotient.valid_until) == (date(year, 1, 1), date(year, 12, 31))
    assert quotient.created_by == enfance_agent
    assert quotient.details == {
        "annual_taxable_income": "30000.00",
        "monthly_benefits": "150.00",
        "couple": True,
        "children": 2,
        "parts": "3.0",
    }
    entry = AuditEntry.objects.get(action="quotient.record")
    assert entry.actor == enfance_agent and entry.famille_id == household.pk
    assert entry.changes == {"value": [None, "883.33"], "source": [None, "avis_imposition"]}


def test_enregistrer_with_errors_records_nothing_and_redisplays(agent_client, household):
    response = calc(agent_client, action="enregistrer", income="trente mille")
    assert response.status_code == 200
    assert not QuotientFamilial.objects.exists()
    assert "Saisissez un montant en euros, par exemple 30 000 ou 150,50." in text_of(response)
    assert 'value="trente mille"' in response.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("income", "", "Indiquez le revenu fiscal de référence."),
        ("income", "-5", "Saisissez un montant en euros, par exemple 30 000 ou 150,50."),
        ("income", "12,345", "Au plus deux chiffres après la virgule (les centimes)."),
        ("income", "99999999999", "Ce montant est trop élevé."),
        ("benefits", "1e3", "Saisissez un montant en euros, par exemple 30 000 ou 150,50."),
        ("children", "-1", "Le nombre d'enfants ne peut pas être négatif."),
        ("children", "deux", "Saisissez un nombre entier, par exemple 2."),
        ("children", "", "Indiquez le nombre d'enfants à charge (0 si aucun)."),
        ("situation", "", "Indiquez si le foyer compte un ou deux parents."),
    ],
)
def test_each_wrong_entry_has_its_own_message_next_to_the_field(
    agent_client, famille, field, value, error
):
    response = calc(agent_client, **{field: value})
    form = response.context["calculator"]
    assert form.errors[field] == [error]
    assert response.context["preview"] is None
    assert f'id="id_calcul-{field}_error"' in response.content.decode()


def test_the_validity_must_not_end_before_it_starts(agent_client, famille):
    response = calc(agent_client, action="enregistrer", start="2026-06-01", end="2026-05-31")
    assert response.context["calculator"].errors["valid_until"] == [
        "La fin de validité ne peut pas précéder son début."
    ]
    assert not QuotientFamilial.objects.exists()


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("30 000", "30000.00"),
        ("30\u00a0000,50", "30000.50"),
        ("30\u202f000", "30000.00"),
        ("150.5", "150.50"),
        ("150,50 €", "150.50"),
        (",5", "0.50"),
        ("0", "0.00"),
    ],
)
def test_amounts_are_read_as_people_type_them(typed, amount):
    assert EuroField().clean(typed) == Decimal(amount)


@settings(max_examples=60, deadline=None)
@given(cents=st.integers(min_value=0, max_value=999_999_999))
def test_every_amount_in_cents_reads_back_exactly(cents):
    euros, rest = divmod(cents, 100)
    typed = f"{euros:,}".replace(",", " ") + f",{rest:02d}"
    assert EuroField().clean(typed) == Decimal(cents) / 100


def test_a_qf_given_as_is_from_the_caf(agent_client, famille, enfance_agent):
    response = agent_client.post(
        PAGE,
        {
            "action": "fixer",
            "direct-value": "612,40",
            "direct-source": "caf",
            "direct-valid_from": "2026-01-01",
            "direct-valid_until": "2026-06-30",
        },
    )
    assert response.status_code == 302
    quotient = QuotientFamilial.objects.get()
    assert (quotient.value, quotient.source) == (Decimal("612.40"), "caf")
    assert (quotient.valid_from, quotient.valid_until) == (date(2026, 1, 1), date(2026, 6, 30))
    assert quotient.details == {}
    entry = AuditEntry.objects.get(action="quotient.record")
    assert entry.changes == {"value": [None, "612.40"], "source": [None, "caf"]}
    assert entry.actor == enfance_agent


def test_a_qf_set_by_an_agent_and_its_errors(agent_client, famille):
    response = agent_client.post(
        PAGE, {"action": "fixer", "direct-value": "", "direct-source": "inconnue"}
    )
    assert response.status_code == 200
    errors = response.context["direct"].errors
    assert errors["value"] == ["Indiquez le quotient familial."]
    assert "source" in errors and "valid_from" in errors
    assert not response.context["calculator"].is_bound  # the other form stays untouched
    agent_client.post(
        PAGE,
        {
            "action": "fixer",
            "direct-value": "450",
            "direct-source": "agent",
            "direct-valid_from": "2026-01-01",
            "direct-valid_until": "2026-12-31",
        },
    )
    assert QuotientFamilial.objects.get().source == "agent"


def test_only_family_editors_use_the_calculator(client, commune, famille):
    regie = make_agent(commune, AgentRole.Role.REGIE)
    client.force_login(regie)
    assert client.get(PAGE).status_code == 403
    assert calc(client, action="enregistrer").status_code == 403
    assert not QuotientFamilial.objects.exists()
    # Nor do they get the link on the family file.
    assert PAGE not in client.get(FILE).content.decode()


def test_other_communes_and_anonymous_visitors_get_nothing(client, famille):
    elsewhere = make_agent(CommuneFactory(slug="ailleurs"), AgentRole.Role.ADMINISTRATEUR)
    FamilleFactory(commune=elsewhere.commune, number=1)
    client.force_login(elsewhere)
    assert client.get(PAGE).status_code == 404
    assert calc(client, action="enregistrer").status_code == 404
    client.logout()
    response = calc(client, action="enregistrer")
    assert response.status_code == 302
    assert response["Location"].startswith("/villebois/guichet/connexion/")
    assert not QuotientFamilial.objects.exists()


def test_an_unknown_family_is_a_404(agent_client, famille):
    assert agent_client.get("/villebois/guichet/familles/99/quotient-familial/").status_code == 404


# --- The family file -----------------------------------------------------------------------------


def test_the_family_file_flags_a_family_without_a_valid_qf(agent_client, famille, enfance_agent):
    text = text_of(agent_client.get(FILE))
    assert "Aucun QF valide : tarif le plus élevé." in text
    assert "Aucun quotient familial enregistré." in text
    assert f'href="{PAGE}"' in agent_client.get(FILE).content.decode()

    record_quotient(
        famille=famille, actor=enfance_agent, source="caf", value=Decimal("512.30"),
        valid_from=date(2020, 1, 1), valid_until=date(2020, 12, 31),
    )  # fmt: skip
    text = text_of(agent_client.get(FILE))
    assert "Aucun QF valide : tarif le plus élevé." in text  # expired
    assert "512,30 € Attestation CAF du 01/01/2020 au 31/12/2020 (expiré)" in text


def test_the_family_file_shows_the_current_qf_and_its_history(agent_client, famille, enfance_agent):
    year = timezone.localdate().year
    record_quotient(
        famille=famille, actor=enfance_agent, source="caf", value=Decimal("512.30"),
        valid_from=date(year - 1, 1, 1), valid_until=date(year - 1, 12, 31),
    )  # fmt: skip
    record_quotient(
        famille=famille, actor=enfance_agent, source="avis_imposition",
        valid_from=date(year, 1, 1), valid_until=date(year, 12, 31),
        annual_taxable_income=Decimal("30000"), monthly_benefits=Decimal("150"), couple=True,
        children=2,
    )  # fmt: skip

    text = text_of(agent_client.get(FILE))

    assert f"QF actuel : 883,33 € , valable jusqu'au 31/12/{year}." in text
    assert "Aucun QF valide" not in text
    who = enfance_agent.get_full_name()
    newest = (
        f"883,33 € Calculé à partir de l'avis d'imposition (3 parts) "
        f"du 01/01/{year} au 31/12/{year} (en cours)"
    )
    oldest = f"512,30 € Attestation CAF du 01/01/{year - 1} au 31/12/{year - 1} (expiré)"
    assert newest in text and oldest in text
    assert text.index(newest) < text.index(oldest)
    assert f"par {who}" in text
