"""An import-linter contract of Parvis's own (pyproject.toml, [tool.importlinter]): the domain
modules of an app never import a page.

A page is what a module's name says it is, so a new `views_x.py` is covered without anyone listing
it: in a domain app, the modules named `views*`, `urls*`, `forms*`, `admin*`, the
`templatetags` package and the `guichet` package (the app's agent pages); and the whole of the
presentation apps (the public portal, the agents' shell). The domain modules are the rest of a
domain app (models, services, selectors, rules, demo loaders…), except three kinds of entry points
that stand beside the pages: `apps` (where an app plugs its hooks into the apps below it, pages
included), `management` (commands) and the `migrations`; tests are not checked.
"""

from __future__ import annotations

import re

from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck

PAGE_MODULE = re.compile(
    r"^(views|urls|forms|admin)(_\w+)?$"  # modules named as pages
    r"|^templatetags$|^guichet$"  # packages of pages (an app's agent pages: guichet/)
)
ENTRY_POINTS = {"apps", "management", "migrations", "tests"}


class NoPagesInDomainContract(Contract):
    """Configuration: `domain_apps` (the domain apps' packages), `presentation_apps` (packages
    that are pages as a whole)."""

    type_name = "no_pages_in_domain"

    domain_apps = fields.ListField(subfield=fields.StringField())
    presentation_apps = fields.ListField(subfield=fields.StringField())
    # "importer -> imported" pairs tolerated for a while (each with its reason in pyproject.toml;
    # none since the demo accepts bookings through activities.services); one that no longer
    # occurs breaks the contract, so that it is taken out.
    ignore_imports = fields.ListField(subfield=fields.StringField(), required=False)

    def is_page(self, module: str) -> bool:
        if any(module == app or module.startswith(f"{app}.") for app in self.presentation_apps):
            return True
        for app in self.domain_apps:
            if module.startswith(f"{app}."):
                return bool(PAGE_MODULE.match(module[len(app) + 1 :].split(".")[0]))
        return False

    def is_domain(self, module: str) -> bool:
        for app in self.domain_apps:
            if module.startswith(f"{app}."):
                first = module[len(app) + 1 :].split(".")[0]
                return first not in ENTRY_POINTS and not PAGE_MODULE.match(first)
        return False

    def check(self, graph, verbose: bool) -> ContractCheck:
        ignored = {
            tuple(part.strip() for part in pair.split("->")) for pair in self.ignore_imports or ()
        }
        stale = sorted(
            f"{importer} -> {imported}"
            for importer, imported in ignored
            if not {importer, imported} <= graph.modules
            or not graph.direct_import_exists(importer=importer, imported=imported)
        )
        broken = []
        for importer in sorted(graph.modules):
            if not self.is_domain(importer):
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                if self.is_page(imported) and (importer, imported) not in ignored:
                    lines = [
                        detail["line_number"]
                        for detail in graph.get_import_details(importer=importer, imported=imported)
                    ]
                    broken.append((importer, imported, lines))
        return ContractCheck(
            kept=not broken and not stale, metadata={"broken": broken, "stale": stale}
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        for pair in check.metadata["stale"]:
            output.print_error(f"Ignored import no longer exists, remove it: {pair}", bold=False)
        for importer, imported, lines in check.metadata["broken"]:
            where = ", ".join(f"l.{line}" for line in lines)
            output.print_error(f"{importer} -> {imported} ({where})", bold=False)
        output.new_line()
        output.print(
            "A domain module reaches a page only through a hook the page's app registers "
            "(docs/ARCHITECTURE.md, « Layout »)."
        )
