"""Consent as a process of its own: one case per data subject and purpose, its history the
consent ledger (003 §5.1, §5.3; PIPL Art. 13-17).

The ``consent`` process: ``open`` (consent given: purpose, scope, channel, version, and
optionally the evidence) → ``given``; ``withdraw`` → ``withdrawn``; ``give`` again (from
either state: a renewed or widened consent, or consent given again after a withdrawal) →
``given``; ``retire`` (the purpose is no longer pursued) → ``retired`` (final). Every change
is an audited engine command; the subject appears only as its keyed reference
(:meth:`~servicewf.privacy.Privacy.subject_ref`), never by name or number.

:class:`~servicewf.privacy.PrivacyProcessor` refuses a command that collects personal data for
a purpose the catalogue ties to consent (``Catalogue.consent_purposes``) while the subject's
consent case is not in ``given``: withdrawal stops further processing for that purpose, and
role-aware views for that purpose stop showing personal fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs
import pendulum

from servicewf.case import Actor, Case
from servicewf.definition import Labels, ProcessDefinition, State, Transition
from servicewf.errors import CaseNotFound

if TYPE_CHECKING:
    from servicewf.engine import Engine
    from servicewf.privacy.core import Privacy

__all__ = ["CONSENT_PROCESS", "ConsentLedger", "ConsentRecord", "consent_case_id",
           "consent_definition"]

CONSENT_PROCESS = "consent"

_FIELDS = ("subject_ref", "purpose", "scope", "channel", "consent_version")


def consent_definition() -> ProcessDefinition:
    """The ``consent`` process definition (register it with the engine)."""
    return ProcessDefinition(
        CONSENT_PROCESS, 1,
        states=[
            State("given", Labels("consent given", "已同意", "已同意"), initial=True),
            State("withdrawn", Labels("consent withdrawn", "已撤回", "已撤回")),
            State("retired", Labels("purpose retired", "目的已終止", "目的已终止"), final=True),
        ],
        transitions=[
            Transition("withdraw", "given", "withdrawn", required=("channel",),
                       writes=("evidence",)),
            Transition("give", ["given", "withdrawn"], "given",
                       required=("scope", "channel", "consent_version"),
                       writes=("evidence",)),
            Transition("retire", ["given", "withdrawn"], "retired", required=("reason",)),
        ],
        intake=_FIELDS,
        intake_writes=("evidence",),
        owned_fields=True,
        description="Consent of one data subject for one purpose (003 §5.1, §5.3; PIPL "
                    "Art. 13-17).",
    )


def consent_case_id(subject_ref: str, purpose: str) -> str:
    """The id of the consent case of ``subject_ref`` for ``purpose``."""
    return f"consent:{subject_ref}:{purpose}"


@attrs.frozen
class ConsentRecord:
    """One entry of the ledger: ``action`` (``given`` or ``withdrawn``), when, through which
    channel, which scope and version, and who recorded it."""

    purpose: str
    action: str
    at: pendulum.DateTime
    channel: str
    scope: Any
    consent_version: str | None
    recorded_by: str


class ConsentLedger:
    """Gives, withdraws and reads consents through ``engine`` (which must know the
    :func:`consent_definition`)."""

    def __init__(self, engine: Engine, privacy: Privacy) -> None:
        self.engine = engine
        self.privacy = privacy

    def _case(self, subject: Any, purpose: str) -> tuple[str, Case | None]:
        cid = consent_case_id(self.privacy.subject_ref(subject), purpose)
        try:
            return cid, self.engine.get(cid)
        except CaseNotFound:
            return cid, None

    def give(self, subject: Any, purpose: str, *, scope: Iterable[str] | str, channel: str,
             actor: Actor, consent_version: str = "1", evidence: str | None = None) -> Case:
        """Record ``subject``'s consent to ``purpose`` (``scope``: the fields or uses it
        covers; ``channel``: how it was given; ``evidence``: a reference to the signed form
        or recording)."""
        scope_data = [scope] if isinstance(scope, str) else sorted(scope)
        data: dict[str, Any] = {"scope": scope_data, "channel": channel,
                                "consent_version": consent_version}
        if evidence is not None:
            data["evidence"] = evidence
        cid, case = self._case(subject, purpose)
        if case is None:
            return self.engine.open(CONSENT_PROCESS, actor=actor, case_id=cid, data={
                "subject_ref": self.privacy.subject_ref(subject), "purpose": purpose,
                **data})
        return self.engine.fire(case, "give", actor=actor, data=data)

    def withdraw(self, subject: Any, purpose: str, *, channel: str, actor: Actor,
                 evidence: str | None = None) -> Case:
        """Record the withdrawal of ``subject``'s consent to ``purpose``."""
        cid, case = self._case(subject, purpose)
        data: dict[str, Any] = {"channel": channel}
        if evidence is not None:
            data["evidence"] = evidence
        return self.engine.fire(case if case is not None else cid, "withdraw", actor=actor,
                                data=data)

    def active(self, subject: Any, purpose: str) -> bool:
        """Whether ``subject`` consents to ``purpose`` now."""
        return self.privacy.consent_given(self.privacy.subject_ref(subject), purpose)

    def records(self, subject: Any, purpose: str) -> list[ConsentRecord]:
        """The ledger of ``subject`` for ``purpose``, oldest first."""
        cid, case = self._case(subject, purpose)
        if case is None:
            return []
        out: list[ConsentRecord] = []
        scope: Any = None
        version: str | None = None
        for event in self.engine.history(cid):
            if not event.moves:
                continue
            scope = event.data.get("scope", scope)
            version = event.data.get("consent_version", version)
            out.append(ConsentRecord(purpose, event.dest, event.at,
                                     str(event.data.get("channel", "")),
                                     list(scope) if scope is not None else None, version,
                                     event.actor_id))
        return out
