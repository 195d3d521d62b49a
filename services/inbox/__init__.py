"""The agents' inbox (SPEC C1–C3): reading conversations for the people who may see them (`conversations`), the
inbox search (`search`), and what the console shows and edits (`console`: detail, thread, client panel, canned
responses, templates)."""
