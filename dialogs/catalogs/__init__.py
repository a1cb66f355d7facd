"""Message catalogs, one module per language; every catalog has the same keys and placeholders."""
