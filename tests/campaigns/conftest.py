"""Fixtures of the campaign tests."""

from __future__ import annotations

import pytest

from tests.campaigns.retailer import build


@pytest.fixture
def retailer(db, tmp_path):
    return build(tmp_path / "retailer")
