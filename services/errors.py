"""Errors services raise on purpose. Each has a stable `code` the UI translates and the API returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class ServiceError(Exception):
    code = 'error'

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.params = params


class NotFound(ServiceError):
    code = 'not_found'


class PermissionDenied(ServiceError):
    """The caller may not touch this (another branch's data, or a role too low)."""

    code = 'permission_denied'


class Conflict(ServiceError):
    code = 'conflict'


class InvalidInput(ServiceError):
    code = 'invalid_input'


class InvalidCredentials(ServiceError):
    code = 'invalid_credentials'


class LoginLocked(ServiceError):
    code = 'login_locked'

    def __init__(self, until: datetime) -> None:
        super().__init__(f'too many failed logins; locked until {until.isoformat()}', until=until)
        self.until = until
