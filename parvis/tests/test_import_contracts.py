"""The project's own import-linter contract (parvis/testing/import_contracts.py, run by
`make lint`): a domain module never imports a page. Checked here on small graphs, so that it is
known to fail when it should."""

import grimp
import pytest

from parvis.testing.import_contracts import NoPagesInDomainContract

DOMAIN = ["parvis.communes", "parvis.billing", "parvis.demarches"]
PRESENTATION = ["parvis.portal", "parvis.backoffice"]


def check(*imports, ignore=()):
    graph = grimp.ImportGraph()
    for importer, imported in imports:
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="-")
    contract = NoPagesInDomainContract(
        name="pages",
        session_options={},
        contract_options={
            "domain_apps": DOMAIN,
            "presentation_apps": PRESENTATION,
            "ignore_imports": list(ignore),
        },
    )
    return contract.check(graph, verbose=False)


@pytest.mark.parametrize(
    "imported",
    [
        "parvis.billing.views",
        "parvis.billing.views_documents",
        "parvis.demarches.urls_inscriptions",
        "parvis.demarches.forms_wizard",
        "parvis.communes.admin",
        "parvis.communes.templatetags.commune_tags",
        "parvis.portal.navigation",
        "parvis.backoffice.views",
        "parvis.demarches.guichet.selectors",  # an app's agent pages, whatever the module
        "parvis.demarches.guichet",
    ],
)
def test_a_domain_module_importing_a_page_breaks_it(imported):
    result = check(("parvis.billing.services", imported))
    assert not result.kept
    assert [(a, b) for a, b, _lines in result.metadata["broken"]] == [
        ("parvis.billing.services", imported)
    ]


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("parvis.billing.services", "parvis.billing.selectors"),  # domain to domain
        ("parvis.billing.viewsets_helper", "parvis.communes.models"),  # not a page's name
        ("parvis.billing.views", "parvis.billing.views_documents"),  # pages among themselves
        ("parvis.billing.guichet.views", "parvis.billing.guichet.selectors"),
        ("parvis.billing.guichet.views", "parvis.billing.services"),  # agent pages call services
        ("parvis.billing.forms", "parvis.communes.forms"),
        ("parvis.billing.apps", "parvis.demarches.views_dossier"),  # hooks plug in at ready()
        ("parvis.billing.management.commands.run", "parvis.portal.navigation"),
        ("parvis.billing.tests.test_x", "parvis.billing.views"),
        ("parvis.portal.views", "parvis.backoffice.views"),  # not a domain app's
        ("parvis.ids", "parvis.billing.views"),  # not an app (the layers contract's business)
    ],
)
def test_other_imports_keep_it(importer, imported):
    assert check((importer, imported)).kept


def test_an_ignored_import_keeps_it_and_a_stale_one_breaks_it():
    pair = ("parvis.billing.demo", "parvis.backoffice.views")
    assert check(pair, ignore=[" -> ".join(pair)]).kept
    stale = check(("parvis.billing.services", "parvis.billing.models"), ignore=[" -> ".join(pair)])
    assert not stale.kept
    assert stale.metadata["stale"] == [" -> ".join(pair)]
