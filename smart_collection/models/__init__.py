# SQL views last: their tables must exist when they are created.
from . import (  # noqa: E402, I001
    account_move,
    collection_customer,
    collection_demo,
    collection_dispatch,
    collection_ecb_rate,
    collection_engine,
    collection_link_throttle,
    collection_promise,
    collection_scenario,
    collection_scenario_level,
    collection_todo,
    collection_webhook_event,
    report_collection_letter,
    res_company,
    res_config_settings,
    res_partner,
)
