"""The accessibility statement carries what RGAA requires, per commune; the grid page shows the
106 criteria; every footer says the status that the commune's audit (or its absence) gives."""

import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from parvis.communes import rgaa
from parvis.communes.tests.factories import CommuneFactory
from parvis.portal.tests.test_pages import text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def unaudited():
    return CommuneFactory(
        name="Sans-Audit", slug="sans-audit", email="mairie@sans-audit.fr", phone="01 11 11 11 11"
    )


@pytest.fixture
def audited():
    return CommuneFactory(
        name="Auditée",
        slug="auditee",
        accessibility_audit_date=date(2026, 9, 15),
        accessibility_auditor="Cabinet Exemple",
        accessibility_audit_rate=Decimal("82.50"),
        accessibility_plan_url="https://auditee.fr/schema-pluriannuel.pdf",
    )


def footer_of(response) -> str:
    match = re.search(r"<footer\b.*?</footer>", response.content.decode(), flags=re.S)
    assert match, "no footer"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0)))


def test_the_footer_shows_each_communes_computed_status(client, unaudited, audited):
    total = CommuneFactory(
        slug="totale",
        accessibility_audit_date=date(2026, 1, 5),
        accessibility_auditor="Cabinet Exemple",
        accessibility_audit_rate=Decimal("100"),
    )
    expected = {
        unaudited: "Accessibilité : non conforme",
        audited: "Accessibilité : partiellement conforme",
        total: "Accessibilité : totalement conforme",
    }
    for commune, status in expected.items():
        for path in ("", "contacts/", "accessibilite/"):
            footer = footer_of(client.get(f"/{commune.slug}/{path}"))
            assert status in footer, (commune.slug, path)
    # The footer's link leads to the statement.
    page = client.get("/sans-audit/").content.decode()
    assert re.search(r'<a href="/sans-audit/accessibilite/">\s*Accessibilité : non conforme', page)


def test_without_an_audit_the_statement_says_non_conforme_and_gives_the_self_assessment(
    client, unaudited
):
    text = text_of(client.get("/sans-audit/accessibilite/"))
    assert "Ce portail est non conforme avec le référentiel général" in text
    assert "Aucun audit n'a encore été réalisé" in text
    assert "partiellement conforme avec" not in text and "totalement conforme avec" not in text
    rate = rgaa.format_rate(rgaa.compliance_rate(rgaa.GRID))
    assert f"donne un taux de conformité de {rate}" in text
    counts = {s: sum(c.status == s for c in rgaa.GRID) for s in rgaa.STATUS_LABELS}
    assert f"{counts['C']} critères conformes" in text
    assert f"{counts['NC']} critères non conformes" in text
    assert f"{counts['NA']} critères non applicables" in text
    # The statement's date: the grid's, when the commune gave none and has no audit.
    assert "Déclaration établie le 6 décembre 2026." in text
    assert "La commune n'a pas encore publié de schéma pluriannuel" in text


def test_with_an_audit_the_statement_says_who_audited_when_and_its_rate(client, audited):
    response = client.get("/auditee/accessibilite/")
    text = text_of(response)
    assert "Ce portail est partiellement conforme avec le référentiel général" in text
    assert (
        "Cet état se fonde sur l'audit réalisé le 15 septembre 2026 par Cabinet Exemple, dont le "
        "taux de conformité est de 82,5 %." in text
    )
    assert "Aucun audit" not in text
    # No statement date given: the audit's.
    assert "Déclaration établie le 15 septembre 2026." in text
    html = response.content.decode()
    assert '<a href="https://auditee.fr/schema-pluriannuel.pdf">' in html
    assert "Schéma pluriannuel de mise en accessibilité de la commune de Auditée" in text


def test_the_statement_date_given_by_the_commune_wins(client, audited):
    audited.accessibility_statement_date = date(2026, 10, 1)
    audited.save()
    text = text_of(client.get("/auditee/accessibilite/"))
    assert "Déclaration établie le 1er octobre 2026." in text


def test_the_statement_carries_every_required_element(client, unaudited):
    response = client.get("/sans-audit/accessibilite/")
    assert response.status_code == 200
    text = text_of(response)
    html = response.content.decode()
    # The scope and the commitment.
    assert (
        "Cette déclaration d'accessibilité s'applique au portail http://testserver/sans-audit/"
        in (text)
    )
    assert "article 47 de la loi n° 2005-102" in text
    # The sample of pages.
    for label, path in rgaa.SAMPLE.values():
        assert f"{label} (/sans-audit/{path})" in text
    # Technologies, JavaScript included, and that pages work without it.
    assert "HTML, CSS et JavaScript" in text
    assert "chaque page fonctionne sans lui" in text
    # Tools and environment, and no claim of a screen reader test.
    assert "axe-core" in text and "clavier seul" in text and "Playwright" in text
    assert "Aucun lecteur d'écran n'a encore été utilisé" in text
    # Non-accessible content: every non-conformity of the grid with its note.
    for criterion in rgaa.GRID:
        line = f"Critère {criterion.number} ({criterion.title}) :"
        if criterion.status == rgaa.NON_CONFORME:
            assert f"{line} {criterion.note}" in text, criterion.number
        else:
            assert line not in text, criterion.number
    # Exemptions, honestly.
    assert "Aucune dérogation pour charge disproportionnée n'est invoquée." in text
    assert "Contenus non soumis à l'obligation d'accessibilité" in text
    assert "au format PDF produits par le portail n'en font pas partie" in text
    # Contact: the commune's own.
    assert 'href="mailto:mairie@sans-audit.fr"' in html
    assert "01 11 11 11 11" in text
    assert 'href="/sans-audit/contacts/"' in html
    # Recourse: the Défenseur des droits, three ways.
    assert 'href="https://formulaire.defenseurdesdroits.fr/"' in html
    assert "délégué du Défenseur des droits" in text
    assert "Défenseur des droits, Libre réponse 71120, 75342 Paris CEDEX 07" in text
    # The grid, one link away.
    assert 'href="/sans-audit/accessibilite/grille/"' in html


class GridReader(HTMLParser):
    """Each table's caption and its rows' cells."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self.cell: list[str] | None = None
        self.in_caption = False
        self.regions: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and attrs.get("role") == "region":
            self.regions.append(attrs)
        if tag == "table":
            self.tables.append({"caption": "", "caption_id": None, "rows": []})
        elif tag == "caption":
            self.in_caption = True
            self.tables[-1]["caption_id"] = attrs.get("id")
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag in {"th", "td"}:
            self.cell = [tag, attrs.get("scope"), ""]

    def handle_endtag(self, tag):
        if tag == "caption":
            self.in_caption = False
        elif tag in {"th", "td"} and self.cell:
            kind, scope, content = self.cell
            self.tables[-1]["rows"][-1].append((kind, scope, " ".join(content.split())))
            self.cell = None

    def handle_data(self, data):
        if self.in_caption:
            self.tables[-1]["caption"] += data
        elif self.cell is not None:
            self.cell[2] += data


def test_the_grid_page_shows_the_106_criteria_theme_by_theme(client, unaudited):
    response = client.get("/sans-audit/accessibilite/grille/")
    assert response.status_code == 200
    reader = GridReader()
    reader.feed(response.content.decode())
    assert len(reader.tables) == 13
    captions = [" ".join(table["caption"].split()) for table in reader.tables]
    assert captions[0] == "Thème 1 : Images, 9 critères"
    assert captions[3] == "Thème 4 : Multimédia, 13 critères"
    # Each table scrolls in a region named by its caption (360 px), reachable by keyboard.
    assert [region["aria-labelledby"] for region in reader.regions] == [
        table["caption_id"] for table in reader.tables
    ]
    assert all(region.get("tabindex") == "0" for region in reader.regions)
    rows = [row for table in reader.tables for row in table["rows"][1:]]
    assert len(rows) == 106
    headers = reader.tables[0]["rows"][0]
    assert [cell[2] for cell in headers] == [
        "Critère",
        "Intitulé",
        "État",
        "Pages vérifiées",
        "Remarque",
    ]
    assert all(cell[:2] == ("th", "col") for cell in headers)
    for criterion, row in zip(rgaa.GRID, rows, strict=True):
        assert row[0] == ("th", "row", criterion.number)
        assert row[1][2] == str(criterion.title)
        assert row[2][2] == str(criterion.status_label)
        assert row[4][2] == " ".join(str(criterion.note).split())
        if criterion.whole_sample:
            assert row[3][2] == "Tout l'échantillon"
        elif criterion.status == rgaa.NON_APPLICABLE:
            assert row[3][2] == "Sans objet"
        else:
            assert row[3][2] == " ; ".join(str(label) for label in criterion.page_labels)
