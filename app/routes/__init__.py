"""HTTP routes that are not pages: health, the REST API (and, later, webhooks)."""
