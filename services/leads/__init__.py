"""Lead quality (seed 002, SPEC L1-L3, M7): scoring prospects (scoring.py, rescoring.py), importing prospect lists
(files.py, importer.py), and contacts as prospects: list, history, validation, merge (contacts.py)."""

from .contacts import (
    ContactDetail,
    ContactFilters,
    ContactRow,
    contact_id_for_phone,
    get_contact,
    list_contacts,
    merge_contacts,
    reject_contact,
    validate_contact,
    validation_queue,
)
from .files import FIELDS, ProspectTable, guess_mapping, read_prospect_bytes, read_prospect_file
from .importer import ImportResult, RowOutcome, import_prospects
from .rescoring import RescoreResult, rescore, waha_checker

__all__ = [
    'FIELDS',
    'ContactDetail',
    'ContactFilters',
    'ContactRow',
    'ImportResult',
    'ProspectTable',
    'RescoreResult',
    'RowOutcome',
    'contact_id_for_phone',
    'get_contact',
    'guess_mapping',
    'import_prospects',
    'list_contacts',
    'merge_contacts',
    'read_prospect_bytes',
    'read_prospect_file',
    'reject_contact',
    'rescore',
    'validate_contact',
    'validation_queue',
    'waha_checker',
]
