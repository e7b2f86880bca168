"""The agents' pages of billing: the régie's invoicing (monthly runs and their preview, printing
the paper invoices, a stay's invoice, cancelling an invoice). Their routes are held by
parvis.payments.guichet.urls, under the régie's namespace `guichet_regie`."""
