"""The shipped procedures serve every commune: their messages never give one town's postal code
as the example (« par exemple 78955 » misled Carrières-sur-Seine's residents, code 78420)."""

import re

from parvis.demarches.catalogue import CATALOGUE_DIR


def test_no_shipped_procedure_gives_a_towns_postal_code_as_example():
    for path in sorted(CATALOGUE_DIR.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"par exemple\s*:?\s*\d{5}\b", text), path.name
