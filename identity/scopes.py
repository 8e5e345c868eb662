"""The scopes an agency may hold (OAuth, space-separated in its tokens). An officer acts with their agency's scopes;
which route needs which scope is the route policy's table (`api/policy.py`)."""

from __future__ import annotations

ISSUE = "documents:issue"
CONSENT_REQUEST = "consent:request"
CONSENT_READ = "consent:read"
PROCESS = "applications:process"
STATS = "stats:read"
ADMIN = "admin"
METRICS = "metrics:read"

SCOPES: dict[str, str] = {
    ISSUE: "push signed papers into citizens' wallets and revoke them",
    CONSENT_REQUEST: "ask citizens for their papers and follow those requests",
    CONSENT_READ: "read the papers a citizen consented to share",
    PROCESS: "read and move the agency's dossiers (results also need documents:issue)",
    STATS: "the agency's statistics",
    ADMIN: "statistics of every agency",
    METRICS: "the service's Prometheus metrics on the main port",
}
KNOWN_SCOPES = frozenset(SCOPES)
