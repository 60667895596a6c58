"""Segments and predictive models: clustering runs, segment assignment, churn, propensity, CLV, survival."""
