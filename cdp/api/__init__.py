"""REST API of the core app (versioned under /api/v1/)."""
