"""The agents' pages write nothing themselves (issue 16 §2): the guichet shell (parvis/backoffice)
and each app's agent pages (parvis/<app>/guichet/) call the domain apps' services. A scan of their
code fails on a model write or a services module there."""

import re
from pathlib import Path

PARVIS = Path(__file__).resolve().parents[1]
BACKOFFICE = PARVIS / "backoffice"
# A model write: save/delete on an object, or a manager/queryset write.
WRITE = re.compile(
    r"\.(save|delete)\(|\.objects\.(create|get_or_create|update_or_create|"
    r"bulk_create|bulk_update)\(|\)\.(update|delete)\(|\.bulk_(create|update)\("
)


def writes_in(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if WRITE.search(line)]


def shell_modules() -> list[Path]:
    """The shell's modules and those of every app's `guichet` package."""
    return [
        path
        for root in [BACKOFFICE, *PARVIS.glob("*/guichet")]
        for path in root.rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts
    ]


def test_the_scan_reads_the_shell_and_the_apps_agent_pages():
    apps = {path.relative_to(PARVIS).parts[0] for path in shell_modules()}
    assert {"backoffice", "activities", "demarches", "billing", "payments"} <= apps


def test_the_guichet_has_no_services_module():
    assert not [p.name for p in shell_modules() if p.name.startswith("services")]


def test_no_module_of_the_guichet_writes_a_model():
    found = {
        str(path.relative_to(PARVIS)): writes
        for path in shell_modules()
        if (writes := writes_in(path.read_text()))
    }
    assert found == {}


def test_the_scan_sees_each_kind_of_write():
    for snippet in (
        "famille.save(update_fields=['name'])",
        "document.delete()",
        "Reservation.objects.create(day=day)",
        "UnitDay.objects.bulk_update(rows, ['taken'])",
        "Invoice.objects.filter(pk=pk).update(status='payee')",
        "Reservation.objects.filter(day=day).delete()",
    ):
        assert writes_in(snippet), snippet
    for harmless in ("context.update(regie=regie)", "self.initial.update({'du': start})"):
        assert not writes_in(harmless), harmless
