"""Instalment plans for customers: choose a plan and pay each instalment.

On the public pay page the invoice's pay token authorises everything; on the portal the
logged-in customer's own invoices only. Amounts always come from the plan on the server: the
URL only says which instalment.
"""

from odoo import _, http
from odoo.addons.account.controllers.portal import PortalAccount
from odoo.addons.account_payment.controllers.payment import PaymentPortal
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.http import request

from .pay import CollectionPayController


def _plan_values(invoice, count=None):
    """What the instalment section of a page shows, for ``invoice`` (sudo)."""
    Plan = request.env["collection.instalment.plan"].sudo()
    plan = invoice.collection_instalment_plan_id
    values = {
        "instalment_plan": plan,
        "instalment_lines": plan.line_ids.sorted("sequence") if plan else [],
        "instalment_next": plan.next_instalment_id if plan else False,
        "instalment_counts": [],
        "instalment_count": None,
        "instalment_schedule": [],
        "instalment_errors": [],
    }
    if plan or not invoice.company_id.collection_instalment_enabled:
        return values
    values["instalment_counts"] = Plan._collection_allowed_counts(invoice)
    if count is not None:
        messages = Plan._collection_error_messages()
        try:
            count = int(count)
        except (TypeError, ValueError):
            values["instalment_errors"] = [_("Please choose a number of instalments.")]
            return values
        errors, schedule = Plan._collection_schedule(invoice, count)
        values["instalment_count"] = count
        values["instalment_schedule"] = schedule
        values["instalment_errors"] = [messages.get(code, code) for code in errors]
    return values


class CollectionInstalmentPay(CollectionPayController):
    # ---------------------------------------------------------------- pay page

    def _collection_payment_values(self, invoice, token, requested, instalment=None):
        if instalment:
            requested = str(instalment.amount_due)
        values = super()._collection_payment_values(invoice, token, requested)
        values.update(_plan_values(invoice, request.params.get("instalments")))
        values["instalment_paying"] = instalment
        if instalment:
            values["transaction_route"] = (
                f"/pay/{token}/instalment/{instalment.sequence}/transaction"
            )
            values["payment_methods_sudo"] = self._collection_instalment_methods(
                invoice, values["payment_methods_sudo"]
            )
        else:
            values["payment_methods_sudo"] = values["payment_methods_sudo"].filtered(
                lambda m: m.code != "sepa_direct_debit"
            )
        return values

    @staticmethod
    def _collection_instalment_methods(invoice, methods):
        """SEPA Direct Debit first when the company offers it for instalments, else never."""
        sepa = methods.filtered(lambda m: m.code == "sepa_direct_debit")
        if not invoice.company_id.collection_instalment_sepa:
            return methods - sepa
        return sepa + (methods - sepa)

    def _collection_instalment(self, invoice, sequence):
        """The instalment ``sequence`` if it is the next one to pay, else nothing."""
        nxt = invoice.collection_instalment_plan_id.next_instalment_id
        return nxt if nxt and nxt.sequence == sequence else None

    @http.route(
        "/pay/<string:token>/instalment/<int:sequence>", type="http", auth="public",
        methods=["GET"], website=True, sitemap=False,
    )
    def collection_pay_instalment(self, token, sequence, **kwargs):
        status, invoice = self._collection_resolve(token)
        if status in ("invalid", "throttled"):
            return self._collection_refusal(status)
        if status != "ok":
            return request.redirect(f"/pay/{token}")
        instalment = self._collection_instalment(invoice, sequence)
        if not instalment:
            return self._collection_refusal("invalid")
        values = {
            "status": status,
            "invoice": invoice,
            "company": invoice.company_id,
            "res_company": invoice.company_id,
            "pay_token": token,
            **self._collection_payment_values(invoice, token, None, instalment=instalment),
        }
        values["landing_route"] = f"/pay/{token}"
        response = request.render("smart_collection.pay_page", values)
        return self._collection_secure(response)

    @http.route(
        "/pay/<string:token>/instalment/<int:sequence>/transaction", type="json", auth="public"
    )
    def collection_pay_instalment_transaction(
        self, token, sequence, amount=None, flow=None, token_id=None, is_validation=False,
        **kwargs
    ):
        """Pay the next instalment: its amount comes from the plan, the client's is ignored."""
        status, invoice = self._collection_resolve(token)
        if status == "throttled":
            raise ValidationError(_("Too many attempts. Please try again in a minute."))
        if status != "ok":
            raise ValidationError(_("This pay link can no longer be used to pay."))
        instalment = self._collection_instalment(invoice, sequence)
        if not instalment:
            raise ValidationError(_("This instalment is not the next one to pay."))
        if flow not in ("redirect", "direct") or token_id or is_validation:
            raise ValidationError(_("This payment option is not available on a pay link."))
        for key in ("access_token", "tokenization_requested", "landing_route"):
            kwargs.pop(key, None)
        PaymentPortal._validate_transaction_kwargs(kwargs)
        value = invoice.currency_id.round(instalment.amount_due)
        return self._collection_create_transaction(invoice, token, value, flow, kwargs)

    @http.route(
        "/pay/<string:token>/instalments", type="http", auth="public", methods=["POST"],
        website=True, sitemap=False,
    )
    def collection_pay_choose_plan(self, token, count=None, **kwargs):
        """Create the plan the customer confirmed (CSRF-checked form post)."""
        status, invoice = self._collection_resolve(token)
        if status in ("invalid", "throttled"):
            return self._collection_refusal(status)
        if status != "ok":
            return request.redirect(f"/pay/{token}")
        try:
            _create_plan(invoice, count)
        except UserError as exc:
            request.params["instalments"] = count
            values = {
                "status": status, "invoice": invoice, "company": invoice.company_id,
                "res_company": invoice.company_id, "pay_token": token,
                **self._collection_payment_values(invoice, token, None),
            }
            values["instalment_errors"] = [exc.args[0]]
            response = request.render("smart_collection.pay_page", values)
            return self._collection_secure(response, 422)
        return request.redirect(f"/pay/{token}?plan=created")


def _create_plan(invoice, count):
    try:
        count = int(count)
    except (TypeError, ValueError):
        raise UserError(_("Please choose a number of instalments."))
    return request.env["collection.instalment.plan"].sudo()._collection_create_plan(
        invoice, count, source="portal"
    )


class CollectionInstalmentPortal(PortalAccount):
    def _invoice_get_page_view_values(self, invoice, access_token, **kwargs):
        values = super()._invoice_get_page_view_values(invoice, access_token, **kwargs)
        sudo = invoice.sudo()
        values.update(_plan_values(sudo, kwargs.get("instalments")))
        values["collection_pay_token"] = (
            sudo.collection_pay_url.rsplit("/pay/", 1)[1] if sudo.collection_pay_url else None
        )
        return values

    def _collection_own_invoice(self, invoice_id):
        """The invoice when it belongs to the logged-in customer; record rules decide."""
        try:
            return self._document_check_access("account.move", invoice_id)
        except (AccessError, MissingError):
            return None

    @http.route(
        "/my/invoices/<int:invoice_id>/instalments", type="http", auth="user",
        methods=["POST"], website=True,
    )
    def collection_portal_choose_plan(self, invoice_id, count=None, **kwargs):
        invoice = self._collection_own_invoice(invoice_id)
        if invoice is None or invoice.move_type != "out_invoice":
            return request.not_found()
        url = f"/my/invoices/{invoice.id}"
        try:
            _create_plan(invoice, count)
        except UserError:
            # The page shows the schedule again with what is wrong.
            return request.redirect(f"{url}?instalments={count or ''}#collection_instalments")
        return request.redirect(f"{url}?plan=created#collection_instalments")
