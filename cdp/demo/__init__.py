"""Demo retailer: a deterministic generator of realistic customer, receipt, interaction and consent files."""
