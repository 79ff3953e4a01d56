from . import instalment, pay, stripe_webhook
