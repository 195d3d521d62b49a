"""The agents' console (SPEC C1): conversation list, chat view and client panel."""
