"""Drop two indexes of collection_match that cost every decision stored and served no lookup.

``statement_line_id`` is indexed by its unique constraint already; ``reason_codes`` is searched
with ``ilike`` (a word inside the list), which a btree cannot answer. Odoo keeps an index it no
longer expects, so they are dropped here.
"""


def migrate(cr, version):
    cr.execute("DROP INDEX IF EXISTS collection_match__statement_line_id_index")
    cr.execute("DROP INDEX IF EXISTS collection_match__reason_codes_index")
