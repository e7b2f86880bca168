"""Fixtures of the tests of the régie's pages: the guichet's shared ones (parvis.testing.guichet);
the régie, its invoices and agents are built with parvis.testing.regie."""

from parvis.testing.guichet import commune, enfance_agent, famille  # noqa: F401 (fixtures)
