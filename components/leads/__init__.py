"""UI pieces of the leads feature: the prospect import panel and the score breakdown."""

from .import_panel import LeadImportPanel
from .score import reason_text, score_breakdown

__all__ = ['LeadImportPanel', 'reason_text', 'score_breakdown']
