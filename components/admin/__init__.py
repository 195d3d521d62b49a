"""Pieces of the administration pages (issue 15): the record form and the services' errors in the reader's words."""
