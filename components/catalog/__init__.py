"""Catalog pieces for admins: importing the retailer's files (issue 21)."""

from .import_panel import CatalogImportPanel

__all__ = ['CatalogImportPanel']
