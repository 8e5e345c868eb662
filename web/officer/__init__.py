"""The pages of one-stop officers and agency staff at `/officer` (UI.md "One-stop counter and agency staff"): their own
session (cookies sent to `/officer` only, 15 minutes idle), their own navigation, the same domain services."""
