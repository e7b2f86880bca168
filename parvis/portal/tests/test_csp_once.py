"""The settings' Content-Security-Policy built once per process (issue 23, the per-request
floor): the same header as django-csp's, a view's own policy still applied, a change of the
settings seen."""

import pytest
from csp.utils import build_policy
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from parvis.portal import middleware
from parvis.portal.middleware import SettingsPolicyCSPMiddleware


def run(response: HttpResponse, path: str = "/") -> HttpResponse:
    request = RequestFactory().get(path)
    csp = SettingsPolicyCSPMiddleware(lambda request: response)
    csp.process_request(request)
    return csp.process_response(request, response)


def test_the_header_is_django_csps_and_built_once(monkeypatch):
    expected = build_policy()
    assert "default-src 'none'" in expected
    assert run(HttpResponse())["Content-Security-Policy"] == expected
    built = []
    monkeypatch.setattr(
        middleware, "build_policy", lambda **kw: built.append(kw) or build_policy(**kw)
    )
    for _ in range(3):
        assert run(HttpResponse())["Content-Security-Policy"] == expected
    assert built == []  # read from the process's copy, not built again


@pytest.mark.django_db
def test_a_page_of_the_site_carries_it(client):
    response = client.get("/")
    assert response["Content-Security-Policy"] == build_policy()
    assert "Content-Security-Policy-Report-Only" not in response


def test_a_change_of_the_settings_is_seen():
    run(HttpResponse())  # the process's copy made
    directives = {"default-src": ["'self'"], "img-src": ["https://img.example"]}
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": directives}):
        policy = run(HttpResponse())["Content-Security-Policy"]
        assert "img-src https://img.example" in policy and "'none'" not in policy
    assert run(HttpResponse())["Content-Security-Policy"] == build_policy()


def test_a_views_own_policy_still_applies():
    response = HttpResponse()
    response._csp_update = {"form-action": ["https://paiement.example"]}
    policy = run(response)["Content-Security-Policy"]
    assert "https://paiement.example" in policy
    assert policy == build_policy(update={"form-action": ["https://paiement.example"]})
    # The next response, without one, has the settings' policy again.
    assert run(HttpResponse())["Content-Security-Policy"] == build_policy()


def test_an_exempt_response_and_a_header_already_set_are_left_alone():
    exempt = HttpResponse()
    exempt._csp_exempt = True
    assert "Content-Security-Policy" not in run(exempt)
    own = HttpResponse()
    own["Content-Security-Policy"] = "default-src 'self'"
    assert run(own)["Content-Security-Policy"] == "default-src 'self'"


def test_a_report_only_policy_is_sent_too():
    directives = {"default-src": ["'self'"], "report-uri": "/csp-report/"}
    with override_settings(CONTENT_SECURITY_POLICY_REPORT_ONLY={"DIRECTIVES": directives}):
        response = run(HttpResponse())
    assert (
        response["Content-Security-Policy-Report-Only"]
        == "default-src 'self'; report-uri /csp-report/"
    )
    assert response["Content-Security-Policy"] == build_policy()


def test_a_nonce_asked_for_after_the_header_is_an_error():
    from csp.exceptions import CSPNonceError

    request = RequestFactory().get("/")
    csp = SettingsPolicyCSPMiddleware(lambda request: HttpResponse())
    csp.process_request(request)
    csp.process_response(request, HttpResponse())
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)
