"""The campaigns page's pieces: the new-campaign form and a campaign's live results (issue 16, L4)."""
