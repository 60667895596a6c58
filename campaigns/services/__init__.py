"""Writes of campaigns, one module per capability: audience (preview), launch, briefs, outcomes (uplift)."""
