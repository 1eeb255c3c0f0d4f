"""The estimation panel, the indicators and the county comparison, the program-effect estimators. Knows no language."""
