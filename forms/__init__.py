"""Once-only e-forms: the catalog of procedures (each field prefilled from a wallet paper where one holds it), the
citizen's applications (dossiers) built from it, and the agency's handling of them.

Builds on `wallet` (the papers the forms pull from), `identity`, `audit`, `crypto` and `storage`.
"""
