"""The per-branch settings page: its form (issue 15)."""
