"""Who is asking, and which branches they may see (B2). Every service query that returns branch data
goes through `branch_scope`, so isolation holds whatever page or API calls it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false, true

from .errors import PermissionDenied
from .models import Role

_ROLE_RANK = {Role.AGENT: 0, Role.MANAGER: 1, Role.ADMIN: 2}

S = TypeVar('S')


@dataclass(frozen=True)
class Viewer:
    """A logged-in user or an API key, reduced to what access decisions need."""

    user_id: int | None
    username: str
    full_name: str
    role: Role
    branch_id: int | None
    # None means every branch (admins, global API keys).
    branch_ids: frozenset[int] | None
    locale: str = 'es'

    @property
    def sees_all_branches(self) -> bool:
        return self.branch_ids is None

    def has_role(self, minimum: Role) -> bool:
        return _ROLE_RANK[Role(self.role)] >= _ROLE_RANK[minimum]

    def can_see_branch(self, branch_id: int | None) -> bool:
        return self.branch_ids is None or branch_id in self.branch_ids

    def require_role(self, minimum: Role) -> None:
        if not self.has_role(minimum):
            raise PermissionDenied(f'{self.username} is {self.role}; {minimum} required')

    def require_branch(self, branch_id: int | None) -> None:
        if not self.can_see_branch(branch_id):
            raise PermissionDenied(f'{self.username} may not see branch {branch_id}')


def branch_scope(column: Any, viewer: Viewer, *, only: int | None = None) -> ColumnElement[bool]:
    """WHERE clause limiting `column` (a branch id column) to what the viewer may see,
    optionally narrowed to one branch (the header's branch selector)."""
    if only is not None:
        return column == only if viewer.can_see_branch(only) else false()
    if viewer.branch_ids is None:
        return true()
    if not viewer.branch_ids:
        return false()
    return column.in_(sorted(viewer.branch_ids))
