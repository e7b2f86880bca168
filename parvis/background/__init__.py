"""The records of background work an operator reads: the outgoing e-mails (queued, sent, failed,
parvis.mail sends them) and the runs of the periodic commands (parvis.background.periodic).

It sits below every domain app (import-linter's chain) so that any of them can queue an e-mail or
run a periodic job: it imports none of them, and stores a commune as a bare id."""
