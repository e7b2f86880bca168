"""The agents' pages of demarches: the queue of requests (demandes) and the families' documents
(pieces, QF).

The documents live here rather than in families because an agent's decision on a document settles
the « Dossier administratif » requests (parvis.demarches.services_dossier), and families sits below
demarches in the app chain (families may not import demarches)."""
