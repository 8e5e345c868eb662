"""Identity assurance: levels 1 and 2, counter proofing, national e-ID login, recovery, and the closing of
an impostor's account (Decree 69/2024 levels; NIST SP 800-63A; eIDAS levels of assurance)."""
