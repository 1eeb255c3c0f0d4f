"""helpers: the logic of the rural-revitalization evaluation workbook.

Modules: config (paths, settings), dictionary (data dictionary), parsing, readers, places,
pseudonym, intake, schemas, construct (panel and treatment timing), figures (style),
simulate (submissions with known truth), bench, cli.
"""
__version__ = "0.1.0"
