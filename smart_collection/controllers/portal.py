"""Customer self-service: dispute, promise to pay, ask for a copy or a credit note, statement.

Two doors to the same actions: the portal invoice page (``/my/invoices/<id>``, access checked
like Odoo's portal: the customer's own commercial entity or the invoice's access token) and
the public pay page (``/pay/<token>``, authorized by the signed pay token only). Every value
the browser sends is checked again by ``services.self_service``.
"""

from urllib.parse import urlencode

from odoo import _, fields, http
from odoo.addons.account.controllers.portal import PortalAccount
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.http import request
from odoo.tools.mimetypes import guess_mimetype

from ..services import self_service
from .pay import CollectionPayController

ACTIONS = ("dispute", "promise", "copy", "credit_note")
HOURLY_LIMIT = 5  # customer messages per invoice per hour: each one gives the collector a task
ANCHOR = "#collection_self_service"


def _error_message(code):
    return {
        "bad_reason": _("Please choose a reason."),
        "message_required": _("Please tell us more in the message."),
        "message_too_long": _("Your message is too long."),
        "bad_date": _("Please choose a valid date."),
        "date_too_early": _("The promised date must be tomorrow or later."),
        "date_too_late": _("The promised date is too far away."),
        "bad_amount": _("Please enter an amount, for example 120.50."),
        "amount_not_positive": _("The amount must be greater than zero."),
        "amount_above_residual": _("The amount is more than what is left to pay."),
        "nothing_due": _("Nothing is left to pay on this invoice."),
        "attachment_too_big": _("A file is too big (10 MB at most)."),
        "attachment_type": _("Only PDF files and images can be attached."),
        "too_many_attachments": _("Three files at most, please."),
        "closed": _("This invoice can no longer be disputed or promised: it is paid or "
                    "cancelled."),
        "already_disputed": _("This invoice is already disputed: we are looking into it."),
        "already_promised": _("You already promised a payment for this invoice."),
        "too_many": _("We received several requests about this invoice in the last hour. "
                      "Please try again later."),
    }.get(code, _("Your request could not be recorded."))


def _done_message(code):
    return {
        "dispute": _("Thank you. Your dispute is recorded and reminders for this invoice are "
                     "paused while we look into it."),
        "promise": _("Thank you. Your promise to pay is recorded: no reminder will be sent "
                     "until the day after that date."),
        "copy": _("Thank you. We will send you a copy of the invoice."),
        "credit_note": _("Thank you. Your request for a credit note is recorded."),
    }.get(code)


def _self_service_values(invoice, kwargs):
    """What the forms need; confirmation and error texts come from fixed lists only."""
    today = fields.Date.context_today(invoice)
    first, last = self_service.promise_window(
        today, invoice.company_id.collection_promise_max_days
    )
    reasons = request.env["collection.dispute"]._fields["reason"]._description_selection(
        request.env
    )
    done = kwargs.get("collection_done")
    error = kwargs.get("collection_error")
    return {
        "collection_ss_open": invoice._collection_self_service_open(),
        "collection_ss_disputed": invoice.collection_disputed,
        "collection_ss_promised": bool(_open_portal_promise(invoice)),
        "collection_ss_min_date": fields.Date.to_string(first),
        "collection_ss_max_date": fields.Date.to_string(last),
        "collection_ss_residual": "%.*f" % (
            invoice.currency_id.decimal_places, invoice.amount_residual
        ),
        "collection_ss_reasons": reasons,
        "collection_ss_done": _done_message(done) if done in ACTIONS else False,
        "collection_ss_error": _error_message(error) if isinstance(error, str) and error else False,
    }


def _open_portal_promise(invoice):
    return request.env["collection.promise"].sudo().search(
        [("invoice_ids", "in", invoice.ids), ("source", "=", "portal"), ("state", "=", "open")],
        limit=1,
    )


def _uploaded_attachments(invoice):
    """Read the uploaded files, sniff their type from the content, refuse the rest."""
    files = []
    for upload in request.httprequest.files.getlist("attachments"):
        if not upload or not upload.filename:
            continue
        data = upload.read(self_service.ATTACHMENT_MAX_BYTES + 1)
        files.append((upload.filename, data, guess_mimetype(data)))
    self_service.check_attachments([(len(data), mimetype) for _n, data, mimetype in files])
    if not files:
        return request.env["ir.attachment"].sudo()
    return request.env["ir.attachment"].sudo().create(
        [
            {
                "name": name[:200],
                "raw": data,
                "mimetype": mimetype,
                "res_model": "account.move",
                "res_id": invoice.id,
            }
            for name, data, mimetype in files
        ]
    )


def _perform(invoice, action, post, source, author):
    """Run one customer action on a sudo'ed invoice. Return an error code or None."""
    if not invoice._collection_self_service_open():
        return "closed"
    recent = request.env["mail.message"].sudo().search_count(
        [
            ("model", "=", "account.move"),
            ("res_id", "=", invoice.id),
            ("author_id", "=", author.id),
            ("message_type", "=", "comment"),
            ("create_date", ">", fields.Datetime.subtract(fields.Datetime.now(), hours=1)),
        ]
    )
    if recent >= HOURLY_LIMIT:
        return "too_many"
    try:
        with request.env.cr.savepoint():
            _run(invoice, action, post, source, author)
    except self_service.SelfServiceError as exc:
        return exc.code
    except (UserError, ValidationError):
        return "refused"
    return None


def _run(invoice, action, post, source, author):
    if action == "dispute":
        if invoice.collection_disputed:
            raise self_service.SelfServiceError("already_disputed", "already disputed")
        reason, message = self_service.check_dispute(post.get("reason"), post.get("message"))
        attachments = _uploaded_attachments(invoice)
        request.env["collection.dispute"].sudo()._collection_open(
            invoice, reason, message, attachments, source=source, author=author
        )
    elif action == "promise":
        if _open_portal_promise(invoice):
            raise self_service.SelfServiceError("already_promised", "already promised")
        company = invoice.company_id
        day, amount = self_service.check_promise(
            post.get("date"),
            post.get("amount"),
            invoice.amount_residual,
            invoice.currency_id.decimal_places,
            fields.Date.context_today(invoice),
            company.collection_promise_max_days,
        )
        request.env["collection.promise"].sudo().with_company(
            company
        )._collection_portal_create(invoice, day, float(amount), author=author)
    else:
        kind, message = self_service.check_request(action, post.get("message"))
        invoice._collection_customer_request(kind, message, author=author)


def _author(invoice):
    user = request.env.user
    return invoice.partner_id if user._is_public() else user.partner_id


class CollectionPortal(PortalAccount):
    """The forms on the portal invoice page, the account statement."""

    def _invoice_get_page_view_values(self, invoice, access_token, **kwargs):
        values = super()._invoice_get_page_view_values(invoice, access_token, **kwargs)
        if invoice.move_type == "out_invoice" and invoice.state == "posted":
            values.update(_self_service_values(invoice, kwargs))
            values["collection_ss_action"] = f"/my/invoices/{invoice.id}/self-service"
            values["collection_ss_access_token"] = access_token or ""
        return values

    @http.route(
        "/my/invoices/<int:invoice_id>/self-service/<string:action>",
        type="http", auth="public", methods=["POST"], website=True, sitemap=False,
    )
    def collection_portal_self_service(self, invoice_id, action, access_token=None, **post):
        if action not in ACTIONS:
            return request.not_found()
        try:
            invoice = self._document_check_access("account.move", invoice_id, access_token)
        except MissingError:
            return request.not_found()
        except AccessError:
            return request.make_response(
                _("Forbidden"), headers=[("Content-Type", "text/plain")], status=403
            )
        if invoice.move_type != "out_invoice" or invoice.state != "posted":
            return request.not_found()
        error = _perform(invoice, action, post, "portal", _author(invoice))
        query = {"access_token": access_token} if access_token else {}
        query.update({"collection_error": error} if error else {"collection_done": action})
        return request.redirect(f"/my/invoices/{invoice.id}?{urlencode(query)}{ANCHOR}", 303)

    @http.route(
        "/my/collection/statement", type="http", auth="user", methods=["GET"], website=True,
        sitemap=False,
    )
    def collection_portal_statement(self, report_type="pdf", **kwargs):
        """The customer's open items with their pay links, as a PDF."""
        partner = request.env.user.partner_id.commercial_partner_id
        report = request.env["ir.actions.report"].sudo()
        name = "smart_collection.action_report_collection_statement"
        if report_type == "html":
            content = report._render_qweb_html(name, partner.ids)[0]
            headers = [("Content-Type", "text/html; charset=utf-8")]
        else:
            content = report._render_qweb_pdf(name, partner.ids)[0]
            headers = [
                ("Content-Type", "application/pdf"),
                ("Content-Disposition", http.content_disposition(_("Statement") + ".pdf")),
            ]
        headers.append(("Cache-Control", "no-store"))
        return request.make_response(content, headers=headers)


class CollectionPaySelfService(CollectionPayController):
    """The same forms on the public pay page: the pay token is the only authorization."""

    @http.route()
    def collection_pay(self, token, amount=None, **kwargs):
        response = super().collection_pay(token, amount=amount, **kwargs)
        qcontext = getattr(response, "qcontext", None)
        if qcontext and qcontext.get("status") == "ok":
            qcontext.update(_self_service_values(qcontext["invoice"], kwargs))
            qcontext["collection_ss_action"] = f"/pay/{token}/self-service"
            qcontext["collection_ss_access_token"] = ""
        return response

    @http.route(
        "/pay/<string:token>/self-service/<string:action>",
        type="http", auth="public", methods=["POST"], sitemap=False,
    )
    def collection_pay_self_service(self, token, action, **post):
        status, invoice = self._collection_resolve(token)
        if status in ("invalid", "throttled") or action not in ACTIONS:
            return self._collection_refusal(status if status == "throttled" else "invalid")
        error = "closed" if status != "ok" else _perform(
            invoice, action, post, "pay_link", invoice.partner_id
        )
        query = {"collection_error": error} if error else {"collection_done": action}
        return self._collection_secure(
            request.redirect(f"/pay/{token}?{urlencode(query)}{ANCHOR}", 303)
        )
