"""`make mutation`'s driver (parvis/testing/mutation.py): the mutmut configuration it writes per
module. Running mutmut itself takes tens of minutes per module, so it is not tested here."""

import tomllib

import pytest

from parvis.testing import mutation


def written_config(tmp_path, monkeypatch, module: str) -> dict:
    monkeypatch.setattr(mutation, "WORK", tmp_path)
    path = mutation.workdir(module)
    return tomllib.loads((path / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]


def deselected(arguments: list[str]) -> list[str]:
    return [arguments[i + 1] for i, arg in enumerate(arguments) if arg == "--deselect"]


@pytest.mark.parametrize(
    "module",
    ["parvis/activities/rules.py", "parvis/activities/absences.py",
     "parvis/activities/services_absences.py"],
)  # fmt: skip
def test_the_activities_runs_leave_out_the_tests_that_fail_a_second_run_in_one_process(
    tmp_path, monkeypatch, module
):
    monkeypatch.delenv("MUTATION_PYTEST_ARGS", raising=False)
    config = written_config(tmp_path, monkeypatch, module)
    assert config["only_mutate"] == [module]
    assert config["pytest_add_cli_args_test_selection"] == ["parvis/activities/tests"]
    assert deselected(config["pytest_add_cli_args"]) == [
        "parvis/activities/tests/test_reservations_property.py::SeatCounterTests",
    ]


def test_the_other_runs_deselect_nothing_but_what_mutation_pytest_args_adds(tmp_path, monkeypatch):
    monkeypatch.setenv("MUTATION_PYTEST_ARGS", "--deselect 'parvis/billing/tests/test_x.py::a b'")
    config = written_config(tmp_path, monkeypatch, "parvis/billing/invoicing.py")
    assert deselected(config["pytest_add_cli_args"]) == ["parvis/billing/tests/test_x.py::a b"]
    monkeypatch.setenv("MUTATION_PYTEST_ARGS", "")
    config = written_config(tmp_path, monkeypatch, "parvis/billing/invoicing.py")
    assert deselected(config["pytest_add_cli_args"]) == []


def test_each_deselected_test_still_exists():
    # A renamed test would be deselected no more, and stop its module's run again.
    for tests in mutation.DESELECTED.values():
        for node in tests:
            path, _sep, name = node.partition("::")
            source = (mutation.ROOT / path).read_text(encoding="utf-8")
            assert f"class {name}(" in source or f"def {name}(" in source, node
