from . import (
    account_move,
    collection_demo,
    collection_link_throttle,
    collection_webhook_event,
    res_company,
    res_config_settings,
)
