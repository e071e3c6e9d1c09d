"""The audit stage: finding claims in pages, matching their references, judging them, and records."""
