"""The audit trail: who accessed a citizen's data and when (the citizen's access log), and the
short-lived presence records an officer's QR scan leaves for a follow-up consent request.

The access log is tamper-evident: a SHA-256 hash chain (`chain`), signed checkpoints (`checkpoints`)
and a streaming verifier (`verification`, `congdanso audit verify`).

Builds only on `crypto` and `storage`; any domain package may record into it."""
