"""API views of the core app."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp.roles import ROLES


class MeApi(APIView):
    """Who am I: the authenticated user and their roles (lets an integration check its token)."""

    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        roles = serializers.ListField(child=serializers.CharField())

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        roles = sorted(name for name in request.user.groups.values_list("name", flat=True) if name in ROLES)
        return Response(self.OutputSerializer({"username": request.user.get_username(), "roles": roles}).data)
