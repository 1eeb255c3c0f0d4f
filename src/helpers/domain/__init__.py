"""What the data mean: the data dictionary, quarters, the quarantine reasons. Imports nothing of the workbook but config."""
