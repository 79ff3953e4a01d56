from . import test_pay_link, test_pay_page, test_payment_request, test_stripe_webhook
