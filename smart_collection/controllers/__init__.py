from . import pay, portal, stripe_webhook
