"""Approval steps shared by the built-in processes.

Segregation of duties (002 §7.3): whoever asked for something — access to customer data, a
change to it — must not be the one who approves it. The processes that have such an approval
name the person who asked in a data field of their own (``grantee``, ``requested_by``); the
guard here compares the approving actor with that field, so the rule and its citation are
written once.
"""

from __future__ import annotations

from servicewf.context import CommandContext
from servicewf.definition import Guard

__all__ = ["NOT_SELF_APPROVAL", "not_self_approval"]

NOT_SELF_APPROVAL = "not_self_approval"
"""The name of the guard :func:`not_self_approval` returns (use it in ``conditions=``)."""


def not_self_approval(requester_field: str, *, explain: str) -> Guard:
    """Guard ``not_self_approval`` (002 §7.3): the actor is not the case's ``requester_field``.

    ``requester_field`` is the case data field naming the person who asked (compared with the
    actor's id); ``explain`` tells the refused approver what to do instead, in the process's
    own words.
    """

    def check(ctx: CommandContext) -> bool:
        return ctx.actor.id != ctx.case.data.get(requester_field)

    return Guard(NOT_SELF_APPROVAL, check, rule="002 §7.3", explain=explain)
