# isort: skip_file
# Import order is table creation order: the SQL views come last, after the tables they read.
from . import (
    account_bank_statement_line,
    account_move,
    collection_csv_mapping,
    collection_demo,
    collection_dispatch,
    collection_cockpit,
    collection_ecb_rate,
    collection_engine,
    collection_invoice_status,
    collection_link_throttle,
    collection_match,
    collection_match_allocation,
    collection_match_proposal,
    collection_import_template,
    collection_mass_import,
    collection_mass_import_column,
    collection_mass_import_line,
    collection_matcher,
    collection_promise,
    collection_scenario,
    collection_scenario_level,
    collection_virtual_iban,
    collection_virtual_iban_range,
    collection_virtual_iban_pool,
    collection_webhook_event,
    report_collection_letter,
    report_collection_monthly,
    res_company,
    res_config_settings,
    res_partner,
)
from . import collection_customer, collection_todo
from . import payment_method, payment_provider
from . import collection_risk_class
from . import collection_dispute, report_collection_statement
from . import collection_report_aging
from . import collection_instalment_plan, collection_instalment
