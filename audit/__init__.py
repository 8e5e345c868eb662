"""The audit trail: who accessed a citizen's data and when (the citizen's access log), and the
short-lived presence records an officer's QR scan leaves for a follow-up consent request.

Builds only on `crypto` and `storage`; any domain package may record into it."""
