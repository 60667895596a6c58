"""OpenAPI schema: a serializer nested in an API class is named after it (MeApi.OutputSerializer → MeOutput)."""

from __future__ import annotations

from drf_spectacular import openapi


class AutoSchema(openapi.AutoSchema):
    def _get_serializer_name(self, serializer, direction, bypass_extensions=False) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        cls = serializer if isinstance(serializer, type) else type(serializer)
        outer = cls.__qualname__.rpartition(".")[0]
        if outer and "<locals>" not in outer:
            return outer.rpartition(".")[2].removesuffix("Api") + name
        return name
