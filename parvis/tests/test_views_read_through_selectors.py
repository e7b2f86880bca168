"""Views do not read the database themselves: every query a page needs is a selector's (the
app's `selectors*.py`, scoped to the commune and to who asks), so that a reader finds each read
in one place and its scoping is tested once (docs/ARCHITECTURE.md: thin views).

The scan reads the syntax of every `views*.py` module and fails on an ORM read in it: a model's
`.objects`, a queryset method (`filter`, `exclude`, `select_related`, `order_by`, `exists()`,
`count()`…), a `get(...)` with keyword arguments (a dict's `get` has none) and Django's
`get_object_or_404`. Walking a relation a selector prefetched (`famille.members.all()`) and
evaluating a selector's queryset (`list(…)`, `.iterator()`) are presentation, not reads.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]  # the parvis package

QUERYSET_METHODS = {
    "filter",
    "exclude",
    "select_related",
    "prefetch_related",
    "order_by",
    "values_list",
    "annotate",
    "aggregate",
    "alias",
    "only",
    "defer",
    "distinct",
    "in_bulk",
    "get_or_create",
    "update_or_create",
    "raw",
    "extra",
    "earliest",
    "latest",
    "select_for_update",
    "using",
}
# Methods that take no argument on a queryset but always one on a list, a str or a dict.
QUERYSET_METHODS_WITHOUT_ARGUMENTS = {"exists", "count", "first", "last"}
# A dict's `values()` takes none: only `values("field")` is a queryset's.
QUERYSET_METHODS_WITH_ARGUMENTS = {"values"}
SHORTCUTS = {"get_object_or_404", "get_list_or_404"}

# Views allowed to read the database themselves while their reads wait for a move, each with
# why it waits (path relative to the parvis package). Empty since issue 16 §2 moved the last
# reads; the mechanism stays for a file that has to wait, and a test below fails while an
# allowed file has nothing left to allow.
ALLOWED: dict[str, str] = {}


def orm_reads(source: str) -> list[tuple[int, str]]:
    """(line, what) of each ORM read in `source`, a module's text."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "objects":
            found.append((node.lineno, ".objects"))
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id in SHORTCUTS:
            found.append((node.lineno, f"{function.id}()"))
        if not isinstance(function, ast.Attribute):
            continue
        name, has_arguments = function.attr, bool(node.args or node.keywords)
        if (
            name in QUERYSET_METHODS
            or (name in QUERYSET_METHODS_WITHOUT_ARGUMENTS and not has_arguments)
            or (name in QUERYSET_METHODS_WITH_ARGUMENTS and has_arguments)
            or (name == "get" and node.keywords)
        ):
            found.append((node.lineno, f".{name}()"))
    return sorted(found)


def views_modules() -> list[Path]:
    return sorted(
        path
        for path in ROOT.glob("*/**/views*.py")
        if "tests" not in path.parts and "migrations" not in path.parts
    )


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_scan_finds_what_it_looks_for():
    assert views_modules(), "no views module found: the scan looks in the wrong place"
    reads = """
Famille.objects.get(pk=1)
selectors.open_activities(commune=c).filter(slug=s).first()
famille.accesses.exists()
invoices.count()
demande.attachments.values("pk")
family.members.get(pk=pk)
get_object_or_404(Invoice, pk=pk)
queryset.select_related("famille").order_by("number")
"""
    assert [line for line, _ in orm_reads(reads)] == [2, 2, 3, 3, 4, 5, 6, 7, 8, 9, 9]


def test_the_scan_leaves_python_alone():
    plain = """
request.GET.get("q", "")
answers.get(name)
names.count("x")
list(filter(None, words))
data.values()
famille.members.all()
list(rows.iterator(chunk_size=500))
sorted(items, key=len)[0]
"""
    assert orm_reads(plain) == []


@pytest.mark.parametrize("path", views_modules(), ids=relative)
def test_a_views_module_reads_the_database_only_through_selectors(path):
    if relative(path) in ALLOWED:
        pytest.skip(ALLOWED[relative(path)])
    reads = orm_reads(path.read_text(encoding="utf-8"))
    assert reads == [], (
        f"{relative(path)} reads the database itself, at "
        + ", ".join(f"line {line} ({what})" for line, what in reads)
        + ": move each read into the app's selectors.py (scoped to the commune and to who asks)"
    )


def stale_allowances(allowed: dict[str, str], root: Path) -> list[str]:
    """The names in `allowed` whose file is gone or reads nothing itself any more."""
    return [
        name
        for name in sorted(allowed)
        if not (root / name).exists() or not orm_reads((root / name).read_text(encoding="utf-8"))
    ]


def test_no_allowance_outlives_its_reads():
    assert stale_allowances(ALLOWED, ROOT) == [], (
        "these views modules are gone or read nothing themselves any more: remove them from ALLOWED"
    )


def test_a_stale_allowance_is_found(tmp_path):
    (tmp_path / "reads.py").write_text("Famille.objects.get(pk=1)\n", encoding="utf-8")
    (tmp_path / "clean.py").write_text("selectors.families(user=u)\n", encoding="utf-8")
    allowed = {"reads.py": "waits", "clean.py": "moved", "gone.py": "deleted"}
    assert stale_allowances(allowed, tmp_path) == ["clean.py", "gone.py"]
