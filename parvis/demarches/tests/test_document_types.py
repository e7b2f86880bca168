"""Issue 21 §2: a file field says which stored documents fit (« document_types »), checked with
the definition (the wizard's offer: test_reuse_document.py)."""

import copy

import pytest

from parvis.demarches.definitions import DefinitionError, validate_definition
from parvis.demarches.tests.test_reuse_document import DEFINITION

pytestmark = pytest.mark.django_db


def with_types(types):
    definition = copy.deepcopy(DEFINITION)
    definition["steps"][0]["fields"][1]["document_types"] = types
    return definition


@pytest.mark.parametrize("types", [[], ["passeport"], "avis_imposition", ["avis_imposition", 3]])
def test_document_types_are_checked(types):
    with pytest.raises(DefinitionError, match="« document_types »"):
        validate_definition(with_types(types))


def test_document_types_only_on_a_file_field():
    definition = copy.deepcopy(DEFINITION)
    definition["steps"][0]["fields"][0]["document_types"] = ["avis_imposition"]
    with pytest.raises(DefinitionError, match="pour le type file"):
        validate_definition(definition)
