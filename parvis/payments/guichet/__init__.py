"""The agents' pages of payments: the régie's counter (unpaid invoices, payments and their
receipts, trop-perçus and refunds, reminders, the Treasury's exports), and the régie's URLs, which
also route billing's invoicing pages (parvis.billing.guichet)."""
