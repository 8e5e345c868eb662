"""Realistic sealed data at scale, for measurements and drills: `congdanso seed` (refused in production)."""
