"""The tests of billing's agent pages build their own commune and régie
(billing.tests.invoicing_factories); the guichet's shared fixtures, in parvis.testing.guichet,
are imported here when a test needs one."""
