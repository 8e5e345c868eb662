"""Consent-based sharing: agencies request a citizen's papers for one purpose, the citizen approves (with a fresh
second factor) or denies, approval yields a consent and its signed artefact, and the agency pulls exactly what the
consent covers while it is active. Every state change is kept in `consent_event`; every pull goes to the audit log.

Builds on `wallet` (the papers), `identity` (agencies, officers, citizens, tokens), `audit`, `crypto` and `storage`.
"""
