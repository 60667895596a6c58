"""Campaigns: decision rules, audiences, control groups, sales briefs, outcomes and uplift."""
