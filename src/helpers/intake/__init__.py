"""County submissions to validated, de-identified tables. ``helpers.intake.assemble.run_intake`` is the entry point."""
