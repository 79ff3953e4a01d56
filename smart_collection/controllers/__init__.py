from . import instalment, pay, portal, stripe_webhook
