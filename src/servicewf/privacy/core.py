"""The :class:`Privacy` facade: one catalogue drives sealing, role-aware views, masked
exports, the access audit, consent checks, erasure and retention purges."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import pendulum

from servicewf.case import SYSTEM, Actor, Case
from servicewf.clock import Clock
from servicewf.definition import ProcessDefinition
from servicewf.errors import (
    CaseNotFound,
    ConsentMissing,
    InvalidCatalogue,
    PersonalDataUnsealed,
    RetentionNotDue,
    RoleNotPermitted,
)
from servicewf.events import Event, EventKind, register_event_kind
from servicewf.privacy.access import AccessLog, AccessRecord, MemoryAccessLog
from servicewf.privacy.catalogue import (
    PERSONAL_CLASSES,
    Catalogue,
    Catalogues,
    FieldClass,
    builtin_catalogues,
)
from servicewf.privacy.masking import MIN_SECRET, Pseudonym, keyed_hash
from servicewf.privacy.recognisers import find_personal, redact_text
from servicewf.privacy.vault import (
    ERASED,
    KeyVault,
    MemoryVault,
    is_sealed,
    key_id_of,
    seal_value,
    unseal_value,
)
from servicewf.storage.base import Store, Timer

if TYPE_CHECKING:
    from servicewf.engine import Engine

__all__ = [
    "MIN_RETENTION_YEARS",
    "PERSONAL_DATA_ERASED",
    "RETENTION_PURGED",
    "Masker",
    "Privacy",
    "PrivacyProcessor",
    "RedactingFilter",
    "RetentionPolicy",
]

PERSONAL_DATA_ERASED = register_event_kind("personal_data_erased", system=True)
"""The audit event of an erasure (recorded by the system actor on each case of the subject;
its data names who asked: ``requested_by``, ``requested_role``, ``reason``)."""

RETENTION_PURGED = register_event_kind("retention_purged", system=True)
"""The audit event of a retention purge of one case."""

MIN_RETENTION_YEARS = 3
"""The floor: archives are kept at least three years (001 §4.4)."""


@attrs.frozen
class RetentionPolicy:
    """How long a process's closed cases keep their personal data.

    ``years`` after the case reached a final state (at least :data:`MIN_RETENTION_YEARS`,
    001 §4.4); ``legal_hold`` (a predicate on the case) keeps a case whatever its age.
    """

    years: int = MIN_RETENTION_YEARS
    legal_hold: Any = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.years, int) or self.years < MIN_RETENTION_YEARS:
            raise InvalidCatalogue(
                f"a retention of {self.years!r} years is below the floor of "
                f"{MIN_RETENTION_YEARS} years (001 §4.4: archives are kept at least three "
                "years)")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class Privacy:
    """Data protection for one store: catalogues, keys, access log, consent and retention.

    - ``store`` and ``clock``: the engine's;
    - ``secret``: the keyed-hash secret (at least 16 bytes) behind pseudonyms and subject
      references; keep it out of the database;
    - ``catalogues``: the field classification (:func:`builtin_catalogues` by default);
    - ``vault`` and ``access_log``: beside the store (tables in its database for an
      :class:`~servicewf.storage.sql.SQLStore`, in memory otherwise) unless given;
    - ``erasers`` / ``purgers``: the roles that may erase a subject / purge a case;
    - ``retention``: process → :class:`RetentionPolicy` (three years for every process
      otherwise).

    Register :meth:`processor` with the engine (``Engine(..., processors=[...,
    privacy.processor()])``): it refuses any command that carries a sealed field in clear
    or personal data without the subject's consent, on every path into the engine.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        secret: bytes,
        catalogues: Catalogues | None = None,
        vault: KeyVault | None = None,
        access_log: AccessLog | None = None,
        erasers: Iterable[str] = ("dpo",),
        purgers: Iterable[str] = ("dpo", "admin"),
        retention: Mapping[str, RetentionPolicy] | None = None,
    ) -> None:
        if not isinstance(secret, bytes) or len(secret) < MIN_SECRET:
            raise InvalidCatalogue(f"the privacy secret must be at least {MIN_SECRET} bytes; "
                                   "generate one with secrets.token_bytes(32)")
        self.store = store
        self.clock = clock
        self._secret = secret
        self.catalogues = catalogues if catalogues is not None else builtin_catalogues()
        if vault is None or access_log is None:
            default_vault, default_log = _beside(store)
            vault = vault if vault is not None else default_vault
            access_log = access_log if access_log is not None else default_log
        self.vault: KeyVault = vault
        self.access_log: AccessLog = access_log
        self.erasers = tuple(erasers)
        self.purgers = tuple(purgers)
        self.retention: Mapping[str, RetentionPolicy] = dict(retention or {})

    def __repr__(self) -> str:
        return f"<Privacy over {type(self.store).__name__}: {len(self.catalogues.by_process)} " \
               "catalogues>"

    # --- subjects and sealing ---------------------------------------------------------------

    def subject_ref(self, subject_id: Any) -> str:
        """The reference the vault and the consent ledger know ``subject_id`` by: a keyed
        hash (the subject's id itself is never stored outside its sealed fields)."""
        return keyed_hash(self._secret, ["subject", subject_id])[:40]

    def catalogue(self, process: str) -> Catalogue:
        """The catalogue of ``process``."""
        return self.catalogues.for_process(process)

    def seal(
        self, process: str, case_id: str, data: Mapping[str, Any] | None, *,
        subject: Any = None, subject_ref: str | None = None,
    ) -> dict[str, Any]:
        """``data`` with its sealed fields (and free text holding recognisable personal
        data) encrypted under the subject's key for ``case_id``.

        The subject is ``subject`` (an id), ``subject_ref`` (a reference), or else the value
        of the catalogue's subject field in ``data``; with none, the case's own key is used
        (erased by a purge of the case, not by a subject erasure).
        """
        data = dict(data or {})
        catalogue = self.catalogue(process)
        if subject_ref is None:
            if subject is None and catalogue.subject_field:
                subject = data.get(catalogue.subject_field)
            subject_ref = self.subject_ref(subject) if subject is not None \
                else f"case:{self.subject_ref(case_id)}"
        record = None
        out: dict[str, Any] = {}
        for name, value in data.items():
            if value is not None and not is_sealed(value) and (
                    name in catalogue.sealed_fields or (
                        catalogue.rule(name) is None and _has_personal_text(value))):
                record = record or self.vault.key_for(subject_ref, case_id)
                out[name] = seal_value(record, name, value)
            else:
                out[name] = value
        return out

    def seal_comment(self, case_id: str, comment: str | None, *,
                     subject_ref: str) -> str | None:
        """``comment`` sealed when it holds recognisable personal data, else as it is."""
        if comment is None or is_sealed(comment) or not _has_personal_text(comment):
            return comment
        return seal_value(self.vault.key_for(subject_ref, case_id), "comment", comment)

    def case_subject(self, case: Case) -> str | None:
        """The subject reference of ``case`` (from the key sealing its subject field)."""
        field = self.catalogue(case.process).subject_field
        return self._subject_of(case.data.get(field) if field else None)

    def _subject_of(self, token: Any) -> str | None:
        key_id = key_id_of(token) if isinstance(token, str) else None
        record = self.vault.get(key_id) if key_id else None
        return record.subject if record is not None else None

    def open(self, engine: Engine, process: str, *, actor: Actor,
             data: Mapping[str, Any] | None = None, subject: Any = None,
             case_id: str | None = None, comment: str | None = None,
             version: int | None = None) -> Case:
        """``engine.open`` with the data sealed first (see :meth:`seal`)."""
        cid = case_id if case_id is not None else uuid.uuid4().hex
        catalogue = self.catalogue(process)
        raw = subject if subject is not None else (
            (data or {}).get(catalogue.subject_field) if catalogue.subject_field else None)
        ref = self.subject_ref(raw) if raw is not None else f"case:{self.subject_ref(cid)}"
        return engine.open(process, actor=actor, case_id=cid, version=version,
                           data=self.seal(process, cid, data, subject_ref=ref),
                           comment=self.seal_comment(cid, comment, subject_ref=ref))

    def fire(self, engine: Engine, case: Case | str, trigger: str, *, actor: Actor,
             data: Mapping[str, Any] | None = None, comment: str | None = None) -> Case:
        """``engine.fire`` with the data sealed under the case's subject first."""
        current = engine.get(case) if isinstance(case, str) else case
        ref = self.case_subject(current) or f"case:{self.subject_ref(current.id)}"
        return engine.fire(current, trigger, actor=actor,
                           data=self.seal(current.process, current.id, data, subject_ref=ref),
                           comment=self.seal_comment(current.id, comment, subject_ref=ref))

    def processor(self) -> PrivacyProcessor:
        """The engine processor that enforces sealing and consent on every command."""
        return PrivacyProcessor(self)

    # --- consent ----------------------------------------------------------------------------

    def consent_given(self, subject_ref: str, purpose: str) -> bool:
        """Whether ``subject_ref`` has consent recorded, and not withdrawn, for ``purpose``."""
        from servicewf.privacy.consent import consent_case_id

        try:
            case = self.store.load(consent_case_id(subject_ref, purpose))
        except CaseNotFound:
            return False
        return case.state == "given"

    # --- reading ----------------------------------------------------------------------------

    def masked(self, process: str, data: Mapping[str, Any], role: str, *,
               subject_ref: str | None = None,
               purpose: str | None = None) -> tuple[dict[str, Any], list[str]]:
        """``data`` as ``role`` may see it, and the personal, sensitive and financial fields
        it shows unmasked (what the access audit records).

        Sealed values are opened (or read ``"[erased]"``); a classified field the role may
        not see is masked by its rule; unclassified text is passed through the recognisers
        unless the role may see personal data. With ``purpose``, personal fields are shown
        only while the subject's consent for it stands (when the catalogue asks consent for
        that purpose). Records no access: :meth:`view`, :meth:`history` and
        :class:`Masker` do.
        """
        catalogue = self.catalogue(process)
        personal_ok = catalogue.sees_personal(role)
        if subject_ref is None and catalogue.subject_field:
            subject_ref = self._subject_of(data.get(catalogue.subject_field))
        if (personal_ok and purpose is not None and purpose in catalogue.consent_purposes
                and subject_ref is not None
                and not subject_ref.startswith("case:")
                and not self.consent_given(subject_ref, purpose)):
            personal_ok = False
        out: dict[str, Any] = {}
        shown: list[str] = []
        for name, value in data.items():
            opened = unseal_value(self.vault, name, value) if is_sealed(value) else value
            rule = catalogue.rule(name)
            if rule is None:
                out[name] = _plain(opened) if personal_ok or opened == ERASED \
                    else _redact_free_text(opened)
                continue
            allowed = catalogue.may_see(role, rule.cls) and (
                personal_ok or rule.cls not in PERSONAL_CLASSES)
            if opened == ERASED:
                out[name] = ERASED
            elif allowed:
                out[name] = _plain(opened)
                if rule.cls is not FieldClass.INTERNAL:  # staff names are not audited reads
                    shown.append(name)
            else:
                out[name] = rule.mask.apply(opened, secret=self._secret)
        return out, shown

    def _text(self, process: str, role: str, field: str, text: str | None) -> str | None:
        if text is None:
            return None
        opened = unseal_value(self.vault, field, text) if is_sealed(text) else text
        if opened == ERASED or self.catalogue(process).sees_personal(role):
            return str(opened)
        return redact_text(str(opened))

    def view(self, case: Case | str, actor: Actor, *, purpose: str = "service") -> dict[str, Any]:
        """``case`` as ``actor`` may see it, as plain data; a read of classified data shown
        unmasked is recorded in the access log."""
        current = self.store.load(case) if isinstance(case, str) else case
        data, shown = self.masked(current.process, current.data, actor.role,
                                  subject_ref=self.case_subject(current), purpose=purpose)
        self._audit(actor, purpose, current.id, current.process, shown)
        return {"id": current.id, "process": current.process,
                "definition_version": current.definition_version, "state": current.state,
                "version": current.version, "opened_at": current.opened_at.isoformat(),
                "updated_at": current.updated_at.isoformat(), "data": data}

    def history(self, case_id: str, actor: Actor, *,
                purpose: str = "service") -> list[dict[str, Any]]:
        """The case's history as ``actor`` may see it (data and comments masked); audited
        like :meth:`view`."""
        case = self.store.load(case_id)
        subject = self.case_subject(case)
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        for event in self.store.history(case_id):
            data, shown = self.masked(case.process, event.data, actor.role,
                                      subject_ref=subject, purpose=purpose)
            seen.update(shown)
            rows.append(_event_row(event, data,
                                   self._text(case.process, actor.role, "comment",
                                              event.comment)))
        self._audit(actor, purpose, case.id, case.process, sorted(seen))
        return rows

    def masker(self, actor: Actor, *, purpose: str,
               customer_roles: Iterable[str] = ("customer",)) -> Masker:
        """The hook for exports and reports: a callable masking one case's data for
        ``actor`` and recording the access (see :class:`Masker`; ``customer_roles``: the
        roles whose actors are data subjects)."""
        return Masker(self, actor, purpose, customer_roles=customer_roles)

    def export_label(self, role: str) -> str:
        """How an export for ``role`` is labelled (PIPL Art. 73): ``"de-identified"``
        (去标识化: pseudonyms still link records) unless the role sees personal data
        (``"identified"``)."""
        return "identified" if self.catalogues.for_process("").sees_personal(role) \
            else "de-identified (去标识化)"

    def _audit(self, actor: Actor, purpose: str, case_id: str, process: str,
               fields: Sequence[str]) -> None:
        if fields:
            self.access_log.append(AccessRecord(self.clock.now(), actor.id, actor.role,
                                                purpose, case_id, process, fields))

    # --- erasure and retention ----------------------------------------------------------------

    def erase(self, engine: Engine, subject: Any, *, actor: Actor, reason: str) -> list[str]:
        """Erase a data subject (PIPL Art. 47, GDPR Art. 17) by crypto-shredding: on each
        case holding the subject's data, the engine records a ``personal_data_erased`` event
        (who asked, why); then the subject's keys are deleted. Returns the case ids.

        Safe to repeat: the events go first, the keys after, so a crash in between leaves
        keys that the next call deletes (it records the events again, each an audit of the
        attempt); nothing is ever erased without its audit event.
        """
        self._check_role(actor, self.erasers, "erase a data subject")
        ref = self.subject_ref(subject)
        cases = self.vault.cases_of(ref)
        data = {"requested_by": actor.id, "requested_role": actor.role,
                "reason": redact_text(reason), "scope": "subject"}
        for case_id in cases:
            engine.record(case_id, PERSONAL_DATA_ERASED, actor=SYSTEM, data=data)
        self.vault.shred_subject(ref)
        return cases

    def purge(self, engine: Engine, case_id: str, *, actor: Actor, reason: str) -> Case:
        """Purge one closed case's personal data once its retention ran out: the engine
        records a ``retention_purged`` event, then the case's keys are shredded (its
        sequence, states and timings stay). Refused (:class:`RetentionNotDue`) while the
        case is open, before the floor, or under legal hold. Safe to repeat, as
        :meth:`erase`."""
        self._check_role(actor, self.purgers, "purge a case")
        case = engine.get(case_id)
        definition = engine.registry.get(case.process, case.definition_version)
        if not definition.is_final(case.state):
            raise RetentionNotDue(
                f"case {case_id!r} is open (state {case.state!r}); only closed cases are "
                "purged", case_id=case_id)
        policy = self.retention.get(case.process, RetentionPolicy())
        if policy.legal_hold is not None and policy.legal_hold(case):
            raise RetentionNotDue(f"case {case_id!r} is under legal hold; release the hold "
                                  "before purging it", case_id=case_id)
        closed_at = _closed_at(engine.history(case_id), definition)
        due = pendulum.instance(closed_at).add(years=policy.years)
        now = self.clock.now()
        if now < due:
            raise RetentionNotDue(
                f"case {case_id!r} closed at {closed_at.isoformat()} is kept until "
                f"{due.isoformat()} ({policy.years} years, 001 §4.4); purge it after that",
                case_id=case_id)
        after = engine.record(case_id, RETENTION_PURGED, actor=SYSTEM,
                              data={"requested_by": actor.id, "requested_role": actor.role,
                                    "reason": redact_text(reason),
                                    "closed_at": closed_at.isoformat(),
                                    "retained_years": policy.years})
        self.vault.shred_case(case_id)
        return after

    @staticmethod
    def _check_role(actor: Actor, roles: tuple[str, ...], what: str) -> None:
        if actor.role not in roles:
            raise RoleNotPermitted(
                f"role {actor.role!r} may not {what}; ask someone with role "
                f"{' or '.join(repr(r) for r in roles)}",
                case_id=None, trigger=None, role=actor.role, allowed=roles,
                action=what.split()[0])


def _closed_at(events: Sequence[Event], definition: ProcessDefinition) -> pendulum.DateTime:
    moved = [e for e in events if e.moves]
    return moved[-1].at if moved else events[-1].at


def _event_row(event: Event, data: dict[str, Any], comment: str | None) -> dict[str, Any]:
    return {"case_id": event.case_id, "seq": event.seq, "at": event.at.isoformat(),
            "kind": event.kind.value, "actor_id": event.actor_id, "role": event.role,
            "trigger": event.trigger, "source": event.source, "dest": event.dest,
            "data": data, "comment": comment}


def _has_personal_text(value: Any) -> bool:
    if isinstance(value, str):
        return bool(find_personal(value))
    if isinstance(value, Mapping):
        return any(_has_personal_text(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_personal_text(v) for v in value)
    return False


def _redact_free_text(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: _redact_free_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_free_text(v) for v in value]
    return value


def _beside(store: Store) -> tuple[KeyVault, AccessLog]:
    from servicewf.storage.sql import SQLStore

    if isinstance(store, SQLStore):
        from servicewf.privacy.sql import SQLAccessLog, SQLVault

        return SQLVault.beside(store), SQLAccessLog.beside(store)
    return MemoryVault(), MemoryAccessLog()


class Masker:
    """The export and report hook: ``masker(case_id, process, data)`` returns ``data`` as the
    actor may see it (plain data) and records the access when classified fields were shown.
    ``masker.label`` says how to label the export (PIPL Art. 73).

    One masker serves one export or report: it records each case's unmasked fields once
    (an export shows a case's data event after event; one access record per case and field
    is what 002 §7.3 asks, not one per event). ``customer_roles`` are the roles whose actors
    are data subjects (a customer withdrawing consent acts under their own id): their ids
    are pseudonymised for a reader who may not see personal data.
    """

    def __init__(self, privacy: Privacy, actor: Actor, purpose: str, *,
                 customer_roles: Iterable[str] = ("customer",)) -> None:
        self.privacy = privacy
        self.actor = actor
        self.purpose = purpose
        self.customer_roles = frozenset(customer_roles)
        self.label = privacy.export_label(actor.role)
        self._recorded: dict[str, set[str]] = {}

    def __call__(self, case_id: str, process: str, data: Mapping[str, Any]) -> dict[str, Any]:
        out, shown = self.privacy.masked(process, data, self.actor.role, purpose=self.purpose)
        if shown:
            recorded = self._recorded.setdefault(case_id, set())
            new = sorted(set(shown) - recorded)
            recorded.update(new)
            self.privacy._audit(self.actor, self.purpose, case_id, process, new)
        return out

    def text(self, process: str, text: str | None) -> str | None:
        """A comment or other free text as the actor may see it."""
        return self.privacy._text(process, self.actor.role, "comment", text)

    def actor_id(self, actor_id: str, role: str) -> str:
        """An event's actor id as the reader may see it: a customer's own id is personal
        data (a pseudonym unless the reader may see personal data); staff ids are shown."""
        if role not in self.customer_roles \
                or self.privacy.catalogues.for_process("").sees_personal(self.actor.role):
            return actor_id
        return str(Pseudonym().apply(actor_id, secret=self.privacy._secret))


class PrivacyProcessor:
    """The engine processor of :meth:`Privacy.processor`: runs inside every command (open,
    fire, record, migrate) and refuses, before anything is written,

    - a sealed field (or a comment or free text with recognisable personal data) supplied in
      clear: :class:`~servicewf.errors.PersonalDataUnsealed`;
    - personal data collected for a purpose the catalogue ties to consent while the
      subject's consent is missing or withdrawn: :class:`~servicewf.errors.ConsentMissing`.

    It derives nothing and owns no timers.
    """

    timer_prefix = "privacy:"

    def __init__(self, privacy: Privacy) -> None:
        self.privacy = privacy

    def process(self, definition: ProcessDefinition, case: Case,
                events: Sequence[Event]) -> tuple[Case, Sequence[Timer] | None]:
        catalogue = self.privacy.catalogue(definition.name)
        for event in events:
            if event.kind is EventKind.MIGRATED:
                continue
            trigger = event.trigger or ("open" if event.kind is EventKind.OPENED else None)
            clear = [name for name, value in event.data.items()
                     if value is not None and not is_sealed(value) and (
                         name in catalogue.sealed_fields
                         or (catalogue.rule(name) is None and _has_personal_text(value)))]
            # Whole texts are scanned (a gate with a length cap could be passed by padding);
            # the recognisers run in linear time and skip text without a digit run or "@".
            if event.comment and not is_sealed(event.comment) \
                    and _has_personal_text(event.comment):
                clear.append("comment")
            if clear:
                raise PersonalDataUnsealed(
                    f"{trigger or event.kind.value!r} on case {case.id!r} supplies "
                    f"{', '.join(clear)} in clear; personal data is stored sealed under the "
                    "data subject's key: seal it with Privacy.seal (or fire through "
                    "Privacy.open / Privacy.fire)",
                    case_id=case.id, trigger=trigger, fields=clear)
            if catalogue.consent_purposes and event.actor_id != SYSTEM.id:
                self._check_consent(catalogue, case, event, trigger)
        return case, None

    def _check_consent(self, catalogue: Catalogue, case: Case, event: Event,
                       trigger: str | None) -> None:
        by_purpose: dict[str, list[str]] = {}
        subject: str | None = None
        for name, value in event.data.items():
            rule = catalogue.rule(name)
            if rule is None or rule.cls not in PERSONAL_CLASSES or value is None:
                continue
            if rule.purpose in catalogue.consent_purposes:
                by_purpose.setdefault(rule.purpose, []).append(name)
                key_id = key_id_of(value) if isinstance(value, str) else None
                record = self.privacy.vault.get(key_id) if key_id else None
                subject = subject or (record.subject if record else None)
        for purpose, fields in by_purpose.items():
            if subject is None or subject.startswith("case:") \
                    or not self.privacy.consent_given(subject, purpose):
                raise ConsentMissing(
                    f"case {case.id!r}: {', '.join(fields)} are collected for "
                    f"{purpose!r}, and the data subject has no consent on record for it (or "
                    "withdrew it); record the consent (ConsentLedger.give) first, or leave "
                    "the personal data out (003 §5.1, §5.3)",
                    case_id=case.id, trigger=trigger, purpose=purpose, fields=fields)


class RedactingFilter(logging.Filter):
    """A logging filter that replaces recognisable personal data in every record's message by
    ``[kind]`` (``logging.getLogger("servicewf").addFilter(RedactingFilter())``, or on a
    handler). The library's own log lines name cases, timers and counts, never field values;
    this catches what an integrator's hooks or exceptions put there."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
