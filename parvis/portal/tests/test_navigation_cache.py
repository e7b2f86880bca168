"""The portal's navigation is worked out once per commune, language and URL configuration
(every page draws it: seven `reverse` each time otherwise), and still follows each of them."""

from unittest import mock

from django.test import override_settings
from django.utils.translation import override

from parvis.portal import navigation


def test_the_navigation_is_worked_out_once_per_commune_and_language():
    navigation._navigation.cache_clear()
    with mock.patch.object(
        navigation, "url_if_exists", wraps=navigation.url_if_exists
    ) as resolving:
        with override("fr"):
            first = navigation.navigation("cache-nav")
            assert navigation.navigation("cache-nav") == first
        assert resolving.call_count == len(navigation.NAVIGATION)
        with override("en"):
            english = navigation.navigation("cache-nav")
        assert resolving.call_count == 2 * len(navigation.NAVIGATION)
        navigation.navigation("autre-commune")
        assert resolving.call_count == 3 * len(navigation.NAVIGATION)
    assert first[0].url == "/cache-nav/mon-espace/"
    assert (first[0].label, english[0].label) == ("Mon accueil", "My home")


@override_settings(ROOT_URLCONF="parvis.portal.tests.urls_without_pages")
def test_another_url_configuration_is_not_served_from_the_cache():
    with override("fr"):
        assert navigation.navigation("cache-nav") == ()
