"""Query parameters as the schema states them: a parameter given empty is refused, not taken for one left out.

DRF reads `?page=` or `?status=` as if the parameter were absent (and so takes its default), which the schema cannot
say: an integer or a choice is never empty. Every API's query-parameter serializer derives from QueryParameters.
It lives in ``consent`` because every app depends on it and it on none (DESIGN.md).
"""

from __future__ import annotations

from rest_framework import serializers

BLANK_PARAMETER = "give a value, or leave the parameter out"


class QueryParameters(serializers.Serializer):
    def to_internal_value(self, data):
        blank = {name: [BLANK_PARAMETER] for name in self.fields if name in data and data.get(name) == ""}
        if blank:
            raise serializers.ValidationError(blank)
        return super().to_internal_value(data)
