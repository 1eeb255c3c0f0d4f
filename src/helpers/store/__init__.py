"""How tables are written and read: atomic parquet with keys, the processed-folder lock, CSVs for people."""
