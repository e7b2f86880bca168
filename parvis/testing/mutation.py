"""`make mutation`: mutation testing (mutmut 3) of the money and booking-rule modules, each module
against its own app's tests only, one module at a time; prints a score per module.

Why a driver rather than one `[tool.mutmut]` block: mutmut reads its configuration from the
`pyproject.toml` of the directory it runs in and keeps its state in `./mutants/`, so one
configuration can only pair every module with the same tests. Each module gets its own working
directory under `var/mutation/` (links to the tree, a generated `pyproject.toml`), where mutmut
copies the tree into `mutants/`: results stay cached there between runs.

Not in CI: a run takes tens of minutes per module. Usage:
    python -m parvis.testing.mutation                      # every module
    python -m parvis.testing.mutation billing/pricing.py   # some modules
    python -m parvis.testing.mutation --scores             # re-print the last scores, no run

Score = killed / (mutants − equivalent mutants). The equivalent mutants (no test can tell them
from the original) are listed in docs/mutation-survivors.md, one line each with its reason.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "var" / "mutation"
SURVIVORS_FILE = ROOT / "docs" / "mutation-survivors.md"

# Module → the tests of its app (browser journeys left out: too slow to run per mutant).
MODULES = {
    "parvis/billing/pricing.py": "parvis/billing/tests",
    "parvis/billing/invoicing.py": "parvis/billing/tests",
    "parvis/billing/services.py": "parvis/billing/tests",
    "parvis/billing/preview.py": "parvis/billing/tests",
    "parvis/payments/services.py": "parvis/payments/tests",
    "parvis/activities/rules.py": "parvis/activities/tests",
    "parvis/activities/absences.py": "parvis/activities/tests",
    "parvis/activities/services_absences.py": "parvis/activities/tests",
}

# Tests deselected from the runs against a test directory. mutmut runs the tests twice in its
# own process (its « stats » run, then its « clean » run) before any mutant, and stops the module
# (« Failed to run clean test ») when one fails; these pass alone but fail a second run in the
# same process:
DESELECTED = {
    "parvis/activities/tests": [
        # A Hypothesis stateful test (a TestCase class): run again from a new instance of its
        # class, Hypothesis refuses it (HealthCheck.differing_executors).
        "parvis/activities/tests/test_reservations_property.py::SeatCounterTests",
    ],
}

# What the mutated copy of the tree needs besides the package (settings read locale/).
LINKED = ["parvis", "locale", "conftest.py", "manage.py"]

KILLED = {"killed", "timeout", "caught by type check"}
MUTANT_NAME = re.compile(r"(parvis\.[\w.ǁ]+__mutmut_\d+)")


def project_pytest_config() -> str:
    """The project's [tool.pytest.ini_options] block, so the mutated tree's tests run alike."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r"^\[tool\.pytest\.ini_options\]\n(?:(?!\[).*\n)*", text, re.MULTILINE)
    if match is None:
        raise SystemExit("pyproject.toml: no [tool.pytest.ini_options] block")
    return match.group(0)


def workdir(module: str) -> Path:
    path = WORK / workdir_name(module)
    path.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        link = path / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    # MUTATION_PYTEST_ARGS: more pytest arguments, e.g. a --deselect for a test that fails in
    # the tree itself (mutmut needs a green suite to start).
    arguments = [
        *(arg for test in DESELECTED.get(MODULES[module], []) for arg in ("--deselect", test)),
        *shlex.split(os.environ.get("MUTATION_PYTEST_ARGS", "")),
    ]
    extra = "".join(f" {json.dumps(arg)}," for arg in arguments)
    config = f"""[tool.mutmut]
source_paths = ["parvis"]
only_mutate = ["{module}"]
also_copy = ["locale", "conftest.py", "manage.py"]
pytest_add_cli_args_test_selection = ["{MODULES[module]}"]
# --reuse-db: each mutant's pytest run reuses the test database instead of migrating again; the
# plugin (this module) runs the quickest tests first, so that most mutants die early.
pytest_add_cli_args = [
    "-m", "not browser", "-p", "no:xdist", "--reuse-db", "-p", "parvis.testing.mutation",{extra}
]
use_git_change_detection = false

{project_pytest_config()}"""
    (path / "pyproject.toml").write_text(config, encoding="utf-8")
    return path


def refresh_copy(path: Path) -> None:
    """mutmut copies the tree's other files (templates, static files) only once: bring the
    changed ones into its copy, so the tests run against today's pages."""
    copy = path / "mutants" / "parvis"
    if not copy.exists():
        return
    for source in (ROOT / "parvis").rglob("*"):
        if source.is_dir() or source.suffix in {".py", ".pyc"} or "__pycache__" in source.parts:
            continue
        target = copy / source.relative_to(ROOT / "parvis")
        stat = source.stat()
        if target.exists() and (target.stat().st_size, target.stat().st_mtime) == (
            stat.st_size,
            stat.st_mtime,
        ):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def mutmut(path: Path, *args: str) -> subprocess.CompletedProcess:
    # nice (MUTATION_NICE, 10 by default): the machine may be shared; one worker
    # (--max-children 1) for the same reason.
    niceness = os.environ.get("MUTATION_NICE", "10")
    command = ["nice", "-n", niceness, str(Path(sys.executable).parent / "mutmut"), *args]
    return subprocess.run(command, cwd=path, check=False, text=True)  # noqa: S603


def results(module: str) -> dict[str, str]:
    """Mutant name → status, from mutmut's own record of the module (mutants/<module>.meta)."""
    from mutmut.stats import status_by_exit_code

    meta = WORK / workdir_name(module) / "mutants" / f"{module}.meta"
    if not meta.exists():
        return {}
    codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return {name: status_by_exit_code[code] for name, code in codes.items()}


def workdir_name(module: str) -> str:
    return module.removeprefix("parvis/").removesuffix(".py").replace("/", "-")


def equivalents() -> dict[str, str]:
    """Mutant name → reason, from docs/mutation-survivors.md (lines `- name — reason`)."""
    if not SURVIVORS_FILE.exists():
        return {}
    found = {}
    for line in SURVIVORS_FILE.read_text(encoding="utf-8").splitlines():
        match = MUTANT_NAME.search(line)
        if line.startswith("- ") and match:
            found[match.group(1)] = line.partition("—")[2].strip()
    return found


def score(module: str) -> tuple[str, list[str]]:
    statuses = results(module)
    excluded = equivalents()
    counted = {name: status for name, status in statuses.items() if name not in excluded}
    killed = sum(1 for status in counted.values() if status in KILLED)
    survivors = sorted(
        f"{name}: {status}" for name, status in counted.items() if status not in KILLED
    )
    total = len(counted)
    percent = f"{100 * killed / total:.1f} %" if total else "—"
    equivalent = len(statuses) - len(counted)
    line = f"{module}: {killed} / {total} killed = {percent} ({equivalent} equivalent excluded)"
    return line, survivors


def run(module: str) -> None:
    path = workdir(module)
    refresh_copy(path)
    print(f"== {module} against {MODULES[module]}", flush=True)
    mutmut(path, "run", "--max-children", "1")
    # mutmut keeps a survivor's verdict until its function changes: check the survivors again
    # against the tests as they are now (new tests may kill them).
    again = [
        name
        for name, status in results(module).items()
        if status not in KILLED and status != "not checked"
    ]
    if again:
        mutmut(path, "run", "--max-children", "1", *again)


# --- A pytest plugin, loaded only in mutmut's runs (-p parvis.testing.mutation) -----------------

_durations: dict[str, float] | None = None


def pytest_collection_modifyitems(session, config, items) -> None:
    """Each mutant's tests stop at the first failure (-x): run the tests without a database
    first, then by the duration mutmut measured (mutmut-stats.json, in the mutated tree)."""
    global _durations
    if _durations is None:
        stats = Path("mutmut-stats.json")
        found = json.loads(stats.read_text(encoding="utf-8")) if stats.exists() else {}
        _durations = found.get("duration_by_test", {})
    items.sort(
        key=lambda item: (
            item.get_closest_marker("django_db") is not None,
            _durations.get(item.nodeid, 1.0),
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="e.g. billing/pricing.py (default: all)")
    parser.add_argument("--scores", action="store_true", help="print the last scores, no run")
    parser.add_argument("--survivors", action="store_true", help="list the remaining survivors")
    args = parser.parse_args(argv)
    modules = [m if m.startswith("parvis/") else f"parvis/{m}" for m in args.modules] or list(
        MODULES
    )
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown modules: {', '.join(unknown)} (known: {', '.join(MODULES)})")
    if not args.scores:
        for module in modules:
            run(module)
    print("\nMutation scores (killed / mutants, equivalent mutants excluded):")
    for module in modules:
        line, survivors = score(module)
        print(f"  {line}")
        if args.survivors or not args.scores:
            for survivor in survivors:
                print(f"      {survivor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
