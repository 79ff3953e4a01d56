from . import (
    test_bank_matching,
    test_collector_screens,
    test_demo_run,
    test_fees,
    test_outage,
    test_pay_link,
    test_pay_page,
    test_payment_request,
    test_scenarios,
    test_statement_import,
    test_stripe_webhook,
    test_virtual_iban,
)
