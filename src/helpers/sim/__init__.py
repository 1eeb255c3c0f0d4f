"""The simulator (submissions with known truth), the simulation check of the estimators, the benchmark."""
