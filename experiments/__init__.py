"""Default experiments (YAML), one per model and dataset; found by garden.config."""
