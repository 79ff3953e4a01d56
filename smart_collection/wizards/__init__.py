from . import collection_payment_request
