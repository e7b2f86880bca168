"""« Payé par » at the counter is kept with the payment, so it is offered in the portal's language
even to an agent browsing in English (the receipt it names is French), and left empty it still
records the family's payer of that day."""

import pytest
from django.conf import settings

from parvis.billing.models import Payment
from parvis.families.tests.factories import PersonneFactory
from parvis.payments.tests.guichet.test_regie import (  # noqa: F401 (fixtures)
    invoice,
    pay,
    regie,
    regie_agent,
    regie_client,
    today,
    url,
)

pytestmark = pytest.mark.django_db


def test_an_english_speaking_agent_is_offered_the_payer_as_the_receipt_writes_it(
    regie_client,  # noqa: F811
    commune,
    famille,
    invoice,  # noqa: F811
):
    PersonneFactory(famille=famille, civility="mme", first_names="Françoise", last_name="DURAND")
    regie_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = regie_client.get(url("encaisser", commune, pk=invoice.pk))
    assert page.headers["Content-Language"] == "en"
    assert page.context["form"]["payer_name"].value() == "Madame Françoise DURAND"

    response = pay(regie_client, commune, invoice, payer_name="")

    assert response.status_code == 302
    assert Payment.objects.get().payer_name == "Madame Françoise DURAND"
