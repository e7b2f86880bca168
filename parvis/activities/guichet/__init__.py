"""The agents' pages of activities, under /<commune>/guichet/activites/: the activities the agent
covers, occupancy, closures, the inscriptions' and bookings' queue, attendance registers, absences.
They read through this package's selectors and write through the app's services."""
