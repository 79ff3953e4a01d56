from . import pay, stripe_webhook
