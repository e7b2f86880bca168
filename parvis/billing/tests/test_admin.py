"""Billing in the admin, tried from the outside as in parvis/communes/tests/test_admin.py: a
commune's administrator lists, opens and creates only their commune's régies, tariffs and rules,
chooses only their commune's units and activities, and gets the errors in French."""

from decimal import Decimal as D

import pytest
from django.urls import reverse

from parvis.activities.tests.factories import make_activity
from parvis.billing.models import (
    PenaltyKind,
    PenaltyRule,
    Regie,
    RegieActivity,
    Tariff,
    TariffBracket,
    TariffKind,
)
from parvis.communes.services import ensure_commune_admin_group
from parvis.communes.tests.factories import CommuneAdminFactory, CommuneFactory, OperatorFactory
from parvis.communes.tests.test_admin import (
    add_inline_row,
    assert_not_found,
    form_data,
    inline_formset,
)

pytestmark = pytest.mark.django_db

INVALID_CHOICE = "Sélectionnez un choix valide"


def url(model, action="changelist", *args):
    return reverse(f"admin:billing_{model}_{action}", args=args)


def change_url(obj):
    return url(obj._meta.model_name, "change", obj.pk)


def page(response) -> str:
    return response.content.decode()


def non_field_errors(response) -> list[str]:
    return list(response.context["adminform"].form.non_field_errors())


def setup_commune(name, slug):
    """A commune with an activity, its régie billing it, a tariff by brackets and a rule."""
    commune = CommuneFactory(name=name, slug=slug)
    activity = make_activity(commune, name=f"Accueil {name}", slug=f"accueil-{slug}")
    unit = activity.units.get()
    regie = Regie.objects.create(commune=commune, code="ENF", name=f"Régie {name}")
    RegieActivity.objects.create(commune=commune, regie=regie, activity=activity)
    tariff = Tariff.objects.create(
        commune=commune, unit=unit, valid_from="2026-09-01", kind=TariffKind.QF_BRACKETS
    )
    TariffBracket.objects.create(commune=commune, tariff=tariff, qf_min=D(0), price=D("0.50"))
    TariffBracket.objects.create(commune=commune, tariff=tariff, qf_min=D(400), price=D("1.35"))
    rule = PenaltyRule.objects.create(
        commune=commune, activity=activity, kind=PenaltyKind.RETARD_SOIR, amount=D("3.00"),
        valid_from="2026-09-01",
    )  # fmt: skip
    return {"commune": commune, "activity": activity, "unit": unit, "regie": regie,
            "tariff": tariff, "rule": rule}  # fmt: skip


@pytest.fixture
def alpha():
    return setup_commune("VilleAlpha", "ville-alpha")


@pytest.fixture
def beta():
    return setup_commune("VilleBeta", "ville-beta")


@pytest.fixture
def as_admin_alpha(client, alpha):
    client.force_login(CommuneAdminFactory(commune=alpha["commune"]))
    return client


def test_the_commune_administrators_group_manages_billing():
    codenames = set(ensure_commune_admin_group().permissions.values_list("codename", flat=True))
    for model in ("regie", "regieactivity", "tariff", "tariffbracket", "penaltyrule"):
        assert {f"view_{model}", f"add_{model}", f"change_{model}", f"delete_{model}"} <= codenames


@pytest.mark.parametrize(
    ("model", "shown", "hidden"),
    [
        ("regie", "Régie VilleAlpha", "Régie VilleBeta"),
        ("tariff", "Accueil VilleAlpha — Acc Matin", "Accueil VilleBeta — Acc Matin"),
        ("penaltyrule", "Accueil VilleAlpha", "Accueil VilleBeta"),
    ],
)
def test_administrator_lists_only_their_communes_rows(as_admin_alpha, beta, model, shown, hidden):
    response = as_admin_alpha.get(url(model))
    assert response.status_code == 200
    assert shown in page(response)
    assert hidden not in page(response)


def test_the_tariff_list_says_the_prices(as_admin_alpha):
    with_brackets = page(as_admin_alpha.get(url("tariff")))
    assert "2 tranches, de 0,50 € à 1,35 €" in with_brackets


@pytest.mark.parametrize("key", ["regie", "tariff", "rule"])
def test_another_communes_rows_cannot_be_opened(as_admin_alpha, beta, key):
    obj = beta[key]
    for action in ("change", "delete", "history"):
        assert_not_found(as_admin_alpha.get(url(obj._meta.model_name, action, obj.pk)))


def test_operator_sees_every_commune(client, alpha, beta):
    client.force_login(OperatorFactory())
    listed = page(client.get(url("regie")))
    assert "Régie VilleAlpha" in listed and "Régie VilleBeta" in listed
    assert 'name="commune"' in page(client.get(url("tariff", "add")))


def test_staff_without_commune_sees_no_billing(client, alpha):
    from parvis.communes.tests.factories import StaffFactory

    user = StaffFactory()
    user.groups.add(ensure_commune_admin_group())
    client.force_login(user)
    assert client.get(url("regie")).status_code == 403
    assert client.get(url("tariff")).status_code == 403


# --- Tariffs ----------------------------------------------------------------------------------


def tariff_form(client, alpha, **fields) -> dict:
    data = form_data(client.get(url("tariff", "add")))
    data.update({"unit": str(alpha["unit"].pk), "valid_from": "01/09/2027", **fields})
    return data


def test_choices_are_only_the_communes_units(as_admin_alpha, alpha, beta):
    response = as_admin_alpha.get(url("tariff", "add"))
    units = response.context["adminform"].form.fields["unit"].queryset
    assert list(units) == [alpha["unit"]]
    assert 'name="commune"' not in page(response)
    assert "la famille paie le prix le plus haut" in page(response)  # the unknown-QF rule


def test_a_tariff_by_brackets_is_added_with_its_brackets(as_admin_alpha, alpha):
    data = tariff_form(as_admin_alpha, alpha, kind=TariffKind.QF_BRACKETS)
    add_inline_row(data, "brackets", qf_min="0", price="0.50")
    add_inline_row(data, "brackets", qf_min="400", price="1.35")
    add_inline_row(data, "brackets", qf_min="1900.01", price="4.90")

    response = as_admin_alpha.post(url("tariff", "add"), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    tariff = Tariff.objects.get(valid_from="2027-09-01")
    assert tariff.commune == alpha["commune"]
    assert [(b.qf_min, b.price, b.commune_id) for b in tariff.brackets.all()] == [
        (D("0.00"), D("0.50"), alpha["commune"].pk),
        (D("400.00"), D("1.35"), alpha["commune"].pk),
        (D("1900.01"), D("4.90"), alpha["commune"].pk),
    ]


def test_brackets_must_start_at_zero(as_admin_alpha, alpha):
    data = tariff_form(as_admin_alpha, alpha, kind=TariffKind.QF_BRACKETS)
    add_inline_row(data, "brackets", qf_min="400", price="1.35")

    response = as_admin_alpha.post(url("tariff", "add"), data)

    assert response.status_code == 200
    assert inline_formset(response, TariffBracket).non_form_errors() == [
        "La première tranche commence à 0 € : tout quotient familial a un prix."
    ]
    assert "La première tranche commence à 0 €" in page(response)
    assert not Tariff.objects.filter(valid_from="2027-09-01").exists()


def test_brackets_are_only_for_a_tariff_by_brackets(as_admin_alpha, alpha):
    data = tariff_form(as_admin_alpha, alpha, kind=TariffKind.FLAT, price="1.80")
    add_inline_row(data, "brackets", qf_min="0", price="1.35")

    response = as_admin_alpha.post(url("tariff", "add"), data)

    assert response.status_code == 200
    assert inline_formset(response, TariffBracket).non_form_errors() == [
        "Les tranches ne servent qu'au mode « Par tranches de quotient familial »."
    ]


def test_a_flat_tariff_without_price_comes_back_with_its_error(as_admin_alpha, alpha):
    response = as_admin_alpha.post(
        url("tariff", "add"), tariff_form(as_admin_alpha, alpha, kind=TariffKind.FLAT)
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["price"] == [
        "Indiquez le prix du tarif unique."
    ]


def test_a_flat_tariff_is_added(as_admin_alpha, alpha):
    response = as_admin_alpha.post(
        url("tariff", "add"), tariff_form(as_admin_alpha, alpha, kind=TariffKind.FLAT, price="1.80")
    )
    assert response.status_code == 302
    assert Tariff.objects.get(valid_from="2027-09-01").price == D("1.80")


def test_another_communes_unit_cannot_be_chosen(as_admin_alpha, alpha, beta):
    data = tariff_form(as_admin_alpha, alpha, kind=TariffKind.FLAT, price="1.80")
    data["unit"] = str(beta["unit"].pk)
    response = as_admin_alpha.post(url("tariff", "add"), data)
    assert response.status_code == 200
    assert INVALID_CHOICE in page(response)
    assert not Tariff.objects.filter(valid_from="2027-09-01").exists()


def test_a_second_tariff_of_the_day_is_refused(as_admin_alpha, alpha):
    data = tariff_form(as_admin_alpha, alpha, kind=TariffKind.FLAT, price="1.80")
    data["valid_from"] = "01/09/2026"
    response = as_admin_alpha.post(url("tariff", "add"), data)
    assert response.status_code == 200
    assert non_field_errors(response) == ["Cette unité a déjà un tarif à partir de cette date."]


# --- Régies -----------------------------------------------------------------------------------


def regie_form(client, **fields) -> dict:
    data = form_data(client.get(url("regie", "add")))
    data.update({"name": "Régie scolaire", "code": "SCO", **fields})
    return data


def test_a_regie_is_added_with_its_activities(as_admin_alpha, alpha):
    second = make_activity(alpha["commune"], name="Restauration", slug="restauration")
    data = regie_form(as_admin_alpha, email="regie@example.fr")
    add_inline_row(data, "activity_links", activity=str(second.pk))

    response = as_admin_alpha.post(url("regie", "add"), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    regie = Regie.objects.get(code="SCO")
    assert regie.commune == alpha["commune"]
    assert list(regie.activities.all()) == [second]
    assert regie.activity_links.get().commune == alpha["commune"]


def test_an_activity_already_billed_is_refused(as_admin_alpha, alpha):
    data = regie_form(as_admin_alpha)
    add_inline_row(data, "activity_links", activity=str(alpha["activity"].pk))

    response = as_admin_alpha.post(url("regie", "add"), data)

    assert response.status_code == 200
    assert inline_formset(response, RegieActivity).errors == [
        {
            "__all__": [
                "Cette activité est déjà facturée par une régie : une activité n'est facturée "
                "que par une seule régie."
            ]
        }
    ]
    assert not Regie.objects.filter(code="SCO").exists()


def test_only_the_communes_activities_are_choices(as_admin_alpha, alpha, beta):
    data = regie_form(as_admin_alpha)
    add_inline_row(data, "activity_links", activity=str(beta["activity"].pk))
    response = as_admin_alpha.post(url("regie", "add"), data)
    assert response.status_code == 200
    assert INVALID_CHOICE in page(response)
    assert RegieActivity.objects.filter(activity=beta["activity"]).get().regie == beta["regie"]


def test_a_duplicate_code_is_refused_in_french(as_admin_alpha, alpha):
    response = as_admin_alpha.post(url("regie", "add"), regie_form(as_admin_alpha, code="ENF"))
    assert response.status_code == 200
    assert non_field_errors(response) == ["Une régie de la commune a déjà ce code."]


# --- Penalty rules ----------------------------------------------------------------------------


def rule_form(client, **fields) -> dict:
    data = form_data(client.get(url("penaltyrule", "add")))
    data.update({"kind": PenaltyKind.PRESENCE_SANS_RESERVATION, "valid_from": "01/09/2026",
                 **fields})  # fmt: skip
    return data


def test_a_commune_wide_rule_is_added(as_admin_alpha, alpha):
    response = as_admin_alpha.post(
        url("penaltyrule", "add"), rule_form(as_admin_alpha, percent="50")
    )
    assert response.status_code == 302
    rule = PenaltyRule.objects.get(kind=PenaltyKind.PRESENCE_SANS_RESERVATION)
    assert (rule.commune, rule.activity, rule.percent) == (alpha["commune"], None, D(50))
    assert "toutes les activités" in page(as_admin_alpha.get(url("penaltyrule")))


def test_a_rule_with_amount_and_percent_is_refused(as_admin_alpha, alpha):
    data = rule_form(as_admin_alpha, amount="10", percent="50")
    response = as_admin_alpha.post(url("penaltyrule", "add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["percent"] == [
        "Un montant fixe ou un pourcentage, pas les deux."
    ]


def test_a_rule_for_another_communes_activity_cannot_be_chosen(as_admin_alpha, beta):
    data = rule_form(as_admin_alpha, amount="10", activity=str(beta["activity"].pk))
    response = as_admin_alpha.post(url("penaltyrule", "add"), data)
    assert response.status_code == 200
    assert INVALID_CHOICE in page(response)


def count_queries(client, path) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize("model", ["regie", "tariff", "penaltyrule"])
def test_lists_cost_the_same_with_more_rows(
    as_admin_alpha, alpha, model, django_assert_max_num_queries
):
    few = count_queries(as_admin_alpha, url(model))
    commune = alpha["commune"]
    for n in range(5):
        activity = make_activity(commune, name=f"Activité {n}", slug=f"activite-{n}")
        regie = Regie.objects.create(commune=commune, code=f"R{n}", name=f"Régie {n}")
        RegieActivity.objects.create(commune=commune, regie=regie, activity=activity)
        tariff = Tariff.objects.create(
            commune=commune, unit=activity.units.get(), valid_from="2026-09-01",
            kind=TariffKind.QF_BRACKETS,
        )  # fmt: skip
        TariffBracket.objects.create(commune=commune, tariff=tariff, qf_min=D(0), price=D(1))
        PenaltyRule.objects.create(
            commune=commune, activity=activity, kind=PenaltyKind.RETARD_SOIR, amount=D(3),
            valid_from="2026-09-01",
        )  # fmt: skip
    with django_assert_max_num_queries(few):
        assert as_admin_alpha.get(url(model)).status_code == 200
