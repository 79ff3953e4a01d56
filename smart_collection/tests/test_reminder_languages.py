import re

from markupsafe import Markup
from odoo.tests import tagged
from odoo.tools import html2plaintext

from .common import CollectionCommon

# Informal second person (pronouns, and in Spanish the tú forms of the usual verbs): a
# reminder to a business customer must not use it.
INFORMAL = {
    "fr_FR": re.compile(r"\b(tu|toi|ton|ta|tes|t')\b", re.IGNORECASE),
    "es_ES": re.compile(
        r"\b(tú|tu|tus|te|ti|contigo|vosotros|vuestra?s?|puedes|tienes|debes|has|quieres|"
        r"eres|estás|pagas|realizaste|pagaste|contáctanos)\b",
        re.IGNORECASE,
    ),
}
# The formal register, for texts long enough to address the customer: vous in French; usted,
# su, le or the usted forms of the verbs (Spanish often drops the pronoun: "Si ya ha pagado").
FORMAL = {
    "fr_FR": re.compile(r"\b(vous|votre|vos)\b", re.IGNORECASE),
    "es_ES": re.compile(
        r"\b(usted|ustedes|su|sus|le|les|puede|ha|tiene|indique|ignore|contacte|póngase|"
        r"pague|disculpe|responda|realice|contáctenos)\b",
        re.IGNORECASE,
    ),
}

# Short English words of the shared invoice table and greetings: too short for a sentence.
SHORT_LABELS = ("Dear", "Invoice", "Due date", "Amount due", "Pay now", "Kind regards")

MAIL_TEMPLATES = (
    "smart_collection.mail_template_collection_notice",
    "smart_collection.mail_template_collection_reminder_1",
    "smart_collection.mail_template_collection_reminder_2",
    "smart_collection.mail_template_collection_payment_request",
    "smart_collection.mail_template_collection_thank_you",
)
SMS_TEMPLATES = (
    "smart_collection.sms_template_collection_reminder",
    "smart_collection.sms_template_collection_payment_request",
)


def sentences(text):
    """Runs of 4+ words between punctuation or line breaks, lower-cased."""
    found = set()
    for chunk in re.split(r"[.!?:;,\n()]+", text):
        words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", chunk)
        if len(words) >= 4:
            found.add(" ".join(w.lower() for w in words))
    return found


def words_of(text):
    return " ".join(w.lower() for w in re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text))


@tagged("post_install", "-at_install")
class TestReminderLanguages(CollectionCommon):
    """Every reminder e-mail and SMS reads as a French or Spanish text, formally worded."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for lang in ("fr_FR", "es_ES"):
            cls.env["res.lang"]._activate_lang(lang)
        cls.env["ir.module.module"]._load_module_terms(
            ["smart_collection"], ["fr_FR", "es_ES"], overwrite=True
        )
        cls.customers = {
            lang: cls._customer(f"Client {lang}", lang=lang)
            for lang in ("en_US", "fr_FR", "es_ES")
        }
        cls.invoices = {
            lang: cls._collection_invoice(amount=120.0, due_in=-10, partner=partner)
            for lang, partner in cls.customers.items()
        }
        cls.level = cls.env.ref("smart_collection.collection_scenario_standard").level_ids[:1]

    def _render(self, xmlid, field, lang):
        """The field as the customer of ``lang`` receives it (the template picks the language)."""
        template = self.env.ref(xmlid)
        invoice = self.invoices[lang]
        if template.model == "account.move":
            record, values = invoice, {}
        else:
            record = self.customers[lang]
            values = {
                "invoices": invoice,
                "level": self.level,
                "company": self.company,
                "links": invoice.collection_pay_url,
            }
        rendered = template._render_field(
            field, record.ids, compute_lang=True, add_context=values
        )[record.id]
        if isinstance(rendered, Markup) or field == "body_html":
            return html2plaintext(rendered)
        return str(rendered)

    def _check(self, xmlid, field, problems):
        english = self._render(xmlid, field, "en_US")
        for lang in ("fr_FR", "es_ES"):
            text = self._render(xmlid, field, lang)
            # The customer's own name and the invoice data are the same in every language.
            data = words_of(self.customers[lang].name)
            left = {
                s for s in sentences(english)
                if s in words_of(text) and s not in data and "client" not in s
            }
            if left:
                problems.append(f"{xmlid} {field} [{lang}] still in English: {sorted(left)}")
            # Short texts (subjects, SMS) have no long sentence: they must differ at all.
            english_words = words_of(english).replace(words_of(self.customers["en_US"].name), "")
            if english_words.split() and words_of(text).replace(data, "") == english_words:
                problems.append(f"{xmlid} {field} [{lang}] not translated: {text!r}")
            labels = [label for label in SHORT_LABELS if label in english and label in text]
            if labels:
                problems.append(f"{xmlid} {field} [{lang}] English labels: {labels}")
            informal = INFORMAL[lang].findall(text)
            if informal:
                problems.append(f"{xmlid} {field} [{lang}] informal words: {informal}")
            if field in ("body_html", "body") and len(text.split()) > 25:
                if not FORMAL[lang].search(text):
                    problems.append(f"{xmlid} {field} [{lang}] does not address the customer "
                                    f"formally: {text!r}")

    def test_english_reference_is_english(self):
        english = self._render(
            "smart_collection.mail_template_collection_reminder_1", "body_html", "en_US"
        )
        self.assertIn("unless we are mistaken", " ".join(sentences(english)))

    def test_mail_templates_are_translated_formally(self):
        problems = []
        for xmlid in MAIL_TEMPLATES:
            for field in ("subject", "body_html"):
                self._check(xmlid, field, problems)
        self.assertFalse(problems, "\n".join(problems))

    def test_sms_templates_are_translated_formally(self):
        problems = []
        for xmlid in SMS_TEMPLATES:
            self._check(xmlid, "body", problems)
        self.assertFalse(problems, "\n".join(problems))
