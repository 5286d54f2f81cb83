"""Metric providers: where an analysis gets its measurements (Prometheus; samples posted to relman
come later)."""
