"""Ingestion: CSV files and API batches of customers, receipt lines, interactions and consents, validated row by row."""
