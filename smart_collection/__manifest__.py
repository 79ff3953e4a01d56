{
    "name": "Smart Collection",
    "version": "18.0.1.0.0",
    "summary": "Get customer invoices paid: secure pay links, payment requests, EPC QR, "
    "strict Stripe webhooks",
    "description": "Pay links, payment references and payment requests for customer invoices.",
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
    ],
    "external_dependencies": {
        "python": ["stripe", "phonenumbers", "qrcode", "schwifty", "python-stdnum"],
    },
    "data": [
        "security/collection_security.xml",
        "security/ir.model.access.csv",
        "data/mail_template_data.xml",
        "data/sms_template_data.xml",
        "views/collection_menus.xml",
        "views/account_move_views.xml",
        "views/collection_webhook_event_views.xml",
        "views/res_config_settings_views.xml",
        "views/pay_templates.xml",
        "report/report_invoice.xml",
        "wizards/collection_payment_request_views.xml",
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
