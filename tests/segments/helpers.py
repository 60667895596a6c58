"""Helpers of the segments tests."""

from __future__ import annotations


def profile(client, customer) -> dict:
    """The customer's 360° view from the API, as the client's user reads it."""
    response = client.get(f"/api/v1/customers/{customer.pk}/")
    assert response.status_code == 200, response.content
    return response.json()
