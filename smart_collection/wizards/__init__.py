from . import (
    collection_call_wizard,
    collection_export_wizard,
    collection_fee_wizard,
    collection_hold_wizard,
    collection_instalment_wizard,
    collection_match_pick,
    collection_payment_request,
    collection_report_wizard,
    collection_run_preview,
    collection_statement_import,
    collection_virtual_iban_import,
)
