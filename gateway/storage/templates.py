"""Message templates (migration 0029): one function per statement of sql/queries/."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Mapping, NamedTuple

from gateway.storage.db import QUERIES, Executor
from gateway.vocabulary import TemplateCategory, TemplateState


class Template(NamedTuple):
    id: int
    community_id: int
    name: str
    category: TemplateCategory
    body: str
    state: TemplateState
    review_note: str | None
    reviewed_by: str | None  # the API token's name
    reviewed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Mapping[str, Any] | None) -> Template | None:
        if row is None:
            return None
        return cls(row["id"], row["community_id"], row["name"], TemplateCategory(row["category"]), row["body"],
                   TemplateState(row["state"]), row["review_note"], row["reviewed_by"], row["reviewed_at"],
                   row["created_at"], row["updated_at"])


async def insert_template(db: Executor, *, community_id: int, name: str, category: TemplateCategory,
                          body: str) -> Template | None:
    """A new draft; None when the community has a template of that name."""
    return Template.of(await db.fetchrow(QUERIES.insert_template, community_id, name, category, body))


async def find_template(db: Executor, *, community_id: int, template_id: int) -> Template | None:
    return Template.of(await db.fetchrow(QUERIES.find_template, community_id, template_id))


async def list_templates(db: Executor, *, community_id: int, state: TemplateState | None, after: int,
                         limit: int) -> list[Template]:
    rows = await db.fetch(QUERIES.list_templates, community_id, state, after, limit)
    return [Template.of(row) for row in rows]  # type: ignore[misc]


async def update_template(db: Executor, *, community_id: int, template_id: int, name: str | None,
                          category: TemplateCategory | None, body: str | None) -> Template | None:
    """Change what is given (None keeps it); a new body or category takes it back to draft. None: no such template.
    asyncpg.UniqueViolationError when the name is another template's."""
    return Template.of(await db.fetchrow(QUERIES.update_template, community_id, template_id, name, category, body))


async def review_template(db: Executor, *, community_id: int, template_id: int, state: TemplateState,
                          from_states: Iterable[TemplateState], note: str | None,
                          reviewer: str | None) -> Template | None:
    """Move it to state when it is in one of from_states (reviewer None: a submission, the last review kept);
    None when it is not (or there is no such template)."""
    return Template.of(await db.fetchrow(QUERIES.review_template, community_id, template_id, state,
                                         sorted(from_states), note, reviewer))


async def delete_template(db: Executor, *, community_id: int, template_id: int) -> bool:
    """Whether it was deleted: False when a message was sent from it, or there is none (find it to tell which).
    asyncpg.ForeignKeyViolationError when something came to reference it meanwhile."""
    return await db.fetchval(QUERIES.delete_template, community_id, template_id) is not None


async def set_message_template(db: Executor, *, message_id: int, template_id: int) -> None:
    await db.execute(QUERIES.set_message_template, message_id, template_id)
