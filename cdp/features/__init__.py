"""Behavioural features of customers as of a date: what segmentation and scores learn from.

`definitions` names the features and says what each means; `extract` reads receipts, lines and interactions out of
the database; `compute` aggregates them in DuckDB (set-based, every core, bounded memory); `services` stores a
snapshot; `selectors` reads one back as a matrix. Only customers who may be profiled are ever in a snapshot.
"""
