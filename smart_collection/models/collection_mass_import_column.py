from odoo import fields, models


class CollectionMassImportColumn(models.Model):
    """One column header found in an imported spreadsheet (what a target field is read from)."""

    _name = "collection.mass.import.column"
    _description = "Spreadsheet Column"
    _order = "import_id, sequence"
    _rec_name = "name"

    import_id = fields.Many2one("collection.mass.import", required=True, ondelete="cascade",
                                index=True)
    sequence = fields.Integer(string="Position", help="Column index in the file, from 0.")
    name = fields.Char(string="Header", required=True)
