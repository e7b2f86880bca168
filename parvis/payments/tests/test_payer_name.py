"""« Payé par » of an online payment is stored with the payment, so it is written in the portal's
language whatever the language of the request that carried the notification: the simulator's
bank page notifies inside the citizen's own request, in English when they chose English."""

from django.conf import settings

from parvis.billing.models import Payment
from parvis.payments.tests.test_views import simulator_post, started


def test_a_citizen_paying_in_english_is_named_in_french_on_the_receipt(logged, world):
    world.user.civility, world.user.first_name, world.user.last_name = "mme", "Françoise", "Durand"
    world.user.save(update_fields=["civility", "first_name", "last_name"])
    transaction = started(world, world.sejour)
    logged.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = simulator_post(logged, world, transaction, "payer")
    assert response.status_code == 302
    assert response.headers["Content-Language"] == "en"  # the request was English indeed
    assert Payment.objects.get().payer_name == "Madame Françoise DURAND"
