"""Public pay page: ``/pay/<token>``, no login, token checked on every request."""

import time

from odoo import _, fields, http
from odoo.addons.account_payment.controllers.payment import PaymentPortal
from odoo.exceptions import MissingError, ValidationError
from odoo.fields import Command
from odoo.http import request

from ..services import amounts, epc_qr, pay_tokens

BAD_TOKEN_LIMIT = 20  # bad tokens per address in the last 60 s before answering 429
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}
GONE_STATES = ("expired", "revoked", "cancelled")


class CollectionPayController(http.Controller):
    # ----------------------------------------------------------- resolution

    @staticmethod
    def _collection_now():
        return time.time()

    def _collection_count_bad_token(self, address, now):
        # Own cursor: the count must survive even when the request's transaction rolls back.
        with request.env.registry.cursor() as cr:
            env = request.env(cr=cr, su=True)
            return env["collection.link.throttle"]._collection_hit(address, now)

    def _collection_resolve(self, token):
        """Return ``(status, invoice_sudo)`` for a token.

        status: ok, paid, expired, revoked, cancelled, invalid (404), throttled (429).
        """
        address = request.httprequest.remote_addr or "?"
        now = self._collection_now()
        Move = request.env["account.move"].sudo()
        expired = False
        try:
            claims = pay_tokens.verify(Move._collection_secret(), token, now)
        except pay_tokens.ExpiredToken as exc:
            claims, expired = exc.claims, True
        except pay_tokens.InvalidToken:
            # Only guesses are throttled: a token carrying our signature was issued by us, so
            # a customer sharing an address with someone mistyping links still gets the page.
            throttle = request.env["collection.link.throttle"].sudo()
            if throttle._collection_hits(address, now) >= BAD_TOKEN_LIMIT:
                return "throttled", None
            self._collection_count_bad_token(address, now)
            return "invalid", None
        invoice = Move.browse(claims.invoice_id)
        try:
            # Reading the fields tells a deleted invoice apart: no separate existence query.
            company_id = invoice.company_id.id
        except MissingError:
            invoice, company_id = Move, None
        if (
            not invoice
            or company_id != claims.company_id
            or invoice.move_type != "out_invoice"
            or invoice.state == "draft"
        ):
            self._collection_count_bad_token(address, now)
            return "invalid", None
        if not claims.matches_nonce(invoice.collection_token_nonce):
            return "revoked", invoice
        if expired:
            return "expired", invoice
        if invoice.state == "cancel":
            return "cancelled", invoice
        if invoice.currency_id.is_zero(invoice.amount_residual):
            return "paid", invoice
        return "ok", invoice

    @staticmethod
    def _collection_secure(response, status=None):
        if status:
            response.status_code = status
        response.headers.update(SECURITY_HEADERS)
        return response

    def _collection_refusal(self, status):
        """429 when throttled; any other refusal is a 404 that says nothing."""
        if status == "throttled":
            response = request.make_response(
                "Too many requests", headers=[("Content-Type", "text/plain"), ("Retry-After", "60")]
            )
            return self._collection_secure(response, 429)
        response = request.make_response("Not found", headers=[("Content-Type", "text/plain")])
        return self._collection_secure(response, 404)

    # --------------------------------------------------------------- pages

    @http.route(
        "/pay/<string:token>", type="http", auth="public", methods=["GET"], website=True,
        sitemap=False,
    )
    def collection_pay(self, token, amount=None, **kwargs):
        status, invoice = self._collection_resolve(token)
        if status in ("invalid", "throttled"):
            return self._collection_refusal(status)
        values = {
            "status": status,
            "invoice": invoice,
            "company": invoice.company_id,
            "res_company": invoice.company_id,
            "pay_token": token,
            "amount_error": False,
        }
        if status == "ok":
            values.update(self._collection_payment_values(invoice, token, amount))
        response = request.render("smart_collection.pay_page", values)
        return self._collection_secure(response, 410 if status in GONE_STATES else 200)

    def _collection_payment_values(self, invoice, token, requested):
        currency = invoice.currency_id
        residual = invoice.amount_residual
        amount_error = False
        try:
            amount = amounts.check_pay_amount(requested, residual, currency.decimal_places)
        except amounts.AmountError as exc:
            amount_error = self._collection_amount_message(exc.code)
            amount = amounts.check_pay_amount(None, residual, currency.decimal_places)
        amount = float(amount)
        partner = invoice.partner_id
        provider_ids, method_ids = request.env["payment.provider"]._collection_pay_options(
            invoice.company_id.id,
            partner.country_id.id,
            currency.id,
            amount,
            fields.Date.context_today(invoice),
            request.env.user._is_internal(),
            partner.id,
        )
        providers = request.env["payment.provider"].sudo().browse(provider_ids)
        methods = request.env["payment.method"].sudo().browse(method_ids)
        pending = invoice.transaction_ids.filtered(lambda tx: tx.state in ("pending", "authorized"))
        return {
            "amount": amount,
            "amount_error": amount_error,
            "residual": residual,
            "is_partial": currency.compare_amounts(amount, residual) < 0,
            "currency": currency,
            "partner_id": partner.id,
            "providers_sudo": providers,
            "payment_methods_sudo": methods,
            "tokens_sudo": request.env["payment.token"].sudo(),  # never list saved cards here
            "availability_report": {},
            "show_tokenize_input_mapping": {provider.id: False for provider in providers},
            "reference_prefix": invoice.name,
            "transaction_route": f"/pay/{token}/transaction",
            "landing_route": f"/pay/{token}",
            "access_token": token,
            "transfer": invoice._collection_transfer_details(amount),
            "pending_transactions": pending,
        }

    @staticmethod
    def _collection_amount_message(code):
        return {
            "invalid": _("Please enter an amount, for example 120.50."),
            "not_positive": _("The amount must be greater than zero."),
            "above_residual": _("The amount is more than what is left to pay on this invoice."),
            "nothing_due": _("Nothing is left to pay on this invoice."),
        }.get(code, _("This amount cannot be paid."))

    @http.route(
        "/pay/<string:token>/invoice.pdf", type="http", auth="public", methods=["GET"],
        sitemap=False,
    )
    def collection_pay_pdf(self, token, **kwargs):
        status, invoice = self._collection_resolve(token)
        if status not in ("ok", "paid"):
            return self._collection_refusal(status)
        content, kind = request.env["ir.actions.report"].sudo()._render_qweb_pdf(
            "account.account_invoices", [invoice.id]
        )
        mimetype = "application/pdf" if kind == "pdf" else "text/html; charset=utf-8"
        filename = f"{invoice._get_report_base_filename()}.{'pdf' if kind == 'pdf' else 'html'}"
        response = request.make_response(
            content,
            headers=[
                ("Content-Type", mimetype),
                ("Content-Disposition", http.content_disposition(filename)),
            ],
        )
        return self._collection_secure(response)

    @http.route(
        "/pay/<string:token>/qr.png", type="http", auth="public", methods=["GET"], sitemap=False
    )
    def collection_pay_qr(self, token, **kwargs):
        """QR code of the pay link, for e-mails (clients do not show inline images)."""
        status, invoice = self._collection_resolve(token)
        if status not in ("ok", "paid"):
            return self._collection_refusal(status)
        png = epc_qr.qr_png(invoice.collection_pay_url, box_size=5)
        response = request.make_response(png, headers=[("Content-Type", "image/png")])
        return self._collection_secure(response)

    # --------------------------------------------------------- transaction

    @http.route("/pay/<string:token>/transaction", type="json", auth="public")
    def collection_pay_transaction(
        self, token, amount=None, flow=None, token_id=None, is_validation=False, **kwargs
    ):
        """Create the payment transaction; the amount is checked here, never trusted."""
        status, invoice = self._collection_resolve(token)
        if status == "throttled":
            raise ValidationError(_("Too many attempts. Please try again in a minute."))
        if status != "ok":
            raise ValidationError(_("This pay link can no longer be used to pay."))
        if flow not in ("redirect", "direct") or token_id or is_validation:
            raise ValidationError(_("This payment option is not available on a pay link."))
        kwargs.pop("access_token", None)
        kwargs.pop("tokenization_requested", None)
        kwargs.pop("landing_route", None)
        PaymentPortal._validate_transaction_kwargs(kwargs)
        currency = invoice.currency_id
        try:
            value = amounts.check_pay_amount(
                amount, invoice.amount_residual, currency.decimal_places
            )
        except amounts.AmountError as exc:
            raise ValidationError(self._collection_amount_message(exc.code))
        return self._collection_create_transaction(invoice, token, value, flow, kwargs)

    def _collection_create_transaction(self, invoice, token, value, flow, kwargs):
        """The transaction for ``value`` (already computed on the server) on ``invoice``."""
        currency = invoice.currency_id
        provider_id = kwargs.get("provider_id")
        compatible = request.env["payment.provider"].sudo()._get_compatible_providers(
            invoice.company_id.id, invoice.partner_id.id, float(value), currency_id=currency.id
        )
        if not isinstance(provider_id, int) or provider_id not in compatible.ids:
            raise ValidationError(_("This payment option is not available on a pay link."))
        tx_sudo = PaymentPortal()._create_transaction(
            provider_id=provider_id,
            payment_method_id=kwargs.get("payment_method_id"),
            token_id=None,
            amount=float(value),
            currency_id=currency.id,
            partner_id=invoice.partner_id.id,
            flow=flow,
            tokenization_requested=False,
            landing_route=f"/pay/{token}",
            reference_prefix=None,
            is_validation=False,
            custom_create_values={"invoice_ids": [Command.set([invoice.id])]},
        )
        return tx_sudo._get_processing_values()
