{
    "name": "Smart Collection",
    "version": "18.0.1.0.0",
    "summary": "Get customer invoices paid: secure pay links, reminder scenarios over e-mail, "
    "SMS, calls and letters, legal fees, strict Stripe webhooks",
    "description": "Pay links, payment references, payment requests and automatic reminder "
    "scenarios for customer invoices.",
    "category": "Accounting/Accounting",
    "author": "Smart Collection",
    "license": "LGPL-3",
    "depends": [
        "account_payment",
        "payment",
        "sms",
        "portal",
        "base_iban",
        "account_qr_code_sepa",
        # Card payments arrive through Stripe: its webhook is hardened by this add-on.
        "payment_stripe",
        # Public holidays of the company's working calendar: no SMS on those days.
        "resource",
    ],
    "external_dependencies": {
        "python": [
            "stripe", "phonenumbers", "qrcode", "schwifty", "python-stdnum", "defusedxml"
        ],
    },
    "data": [
        "security/collection_security.xml",
        "security/ir.model.access.csv",
        "data/mail_template_data.xml",
        "data/sms_template_data.xml",
        "data/collection_ecb_rate_data.xml",
        "data/collection_mail_template_data.xml",
        "data/collection_sms_template_data.xml",
        "data/collection_scenario_data.xml",
        "data/collection_cron_data.xml",
        "report/report_collection_letter.xml",
        "views/collection_menus.xml",
        "views/account_move_views.xml",
        "views/collection_webhook_event_views.xml",
        "views/collection_scenario_views.xml",
        "views/collection_dispatch_views.xml",
        "views/collection_promise_views.xml",
        "views/collection_ecb_rate_views.xml",
        "views/collection_customer_views.xml",
        "views/collection_todo_views.xml",
        "views/res_partner_views.xml",
        "views/collection_virtual_iban_views.xml",
        "views/collection_match_views.xml",
        "views/res_config_settings_views.xml",
        "views/pay_templates.xml",
        "report/report_invoice.xml",
        "wizards/collection_payment_request_views.xml",
        "wizards/collection_wizard_views.xml",
        "wizards/collection_statement_import_views.xml",
        "wizards/collection_virtual_iban_import_views.xml",
        "views/collection_instalment_views.xml",
        "views/pay_instalment_templates.xml",
    ],
    "demo": [
        "data/collection_demo.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "smart_collection/static/tests/tours/*.js",
        ],
    },
    "installable": True,
    "application": False,
}
