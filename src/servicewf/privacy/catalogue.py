"""The field-classification catalogue: which data fields of a process are personal,
sensitive personal, financial or internal, how each is masked, what it is collected for, and
which roles may see each class (002 §7.2: account managers see basic customer data, finance
sees financial data only).

One catalogue per process drives everything in :mod:`servicewf.privacy`: role-aware views,
masked exports, sealing (per-subject encryption, so erasure is crypto-shredding), consent
checks and the access audit. :func:`builtin_catalogues` classifies the fields of the built-in
processes.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from servicewf._frozen import names_tuple
from servicewf.errors import InvalidCatalogue
from servicewf.privacy.masking import (
    Mask,
    PartialMask,
    Pseudonym,
    Redact,
    mask_from_dict,
    mask_to_dict,
)

__all__ = [
    "DEFAULT_VISIBILITY",
    "Catalogue",
    "Catalogues",
    "FieldClass",
    "FieldRule",
    "builtin_catalogues",
]


class FieldClass(str, enum.Enum):
    """The classes of data a catalogue assigns (PIPL Art. 28 and 51; 002 §7.2)."""

    PERSONAL = "personal"
    """Identifies a customer or contacts them (name, reference, phone, address)."""
    SENSITIVE = "sensitive"
    """Sensitive personal data (identity documents, whereabouts, health): PIPL Art. 28."""
    FINANCIAL = "financial"
    """Fees, amounts, account and card numbers."""
    INTERNAL = "internal"
    """Staff names and internal references: not for customers or outside parties."""


PERSONAL_CLASSES = frozenset({FieldClass.PERSONAL, FieldClass.SENSITIVE})

DEFAULT_VISIBILITY: Mapping[FieldClass, tuple[str, ...]] = MappingProxyType({
    # 002 §7.2: account managers (and the staff serving the case) see basic customer data...
    FieldClass.PERSONAL: ("agent", "supervisor", "manager", "account_manager", "dpo"),
    # ...sensitive data only those who must (least privilege, PIPL Art. 28)...
    FieldClass.SENSITIVE: ("manager", "dpo"),
    # ...and finance sees financial data only.
    FieldClass.FINANCIAL: ("finance", "manager", "dpo"),
    FieldClass.INTERNAL: ("agent", "supervisor", "manager", "account_manager", "finance",
                          "technician", "admin", "auditor", "dpo", "system"),
})
"""Which roles may see each class unless a catalogue says otherwise."""


def _field_class(value: FieldClass | str) -> FieldClass:
    try:
        return FieldClass(value)
    except ValueError:
        raise InvalidCatalogue(
            f"unknown field class {value!r}; use one of "
            f"{', '.join(c.value for c in FieldClass)}") from None


@attrs.frozen
class FieldRule:
    """How one field is classified and protected.

    - ``cls``: its :class:`FieldClass`;
    - ``mask``: what a role that may not see the class gets instead of the value
      (:class:`~servicewf.privacy.masking.Redact` by default);
    - ``purpose``: what it is collected for (PIPL Art. 5-6; consent is checked per purpose);
    - ``sealed``: stored encrypted under the data subject's key (crypto-shredding);
      personal and sensitive fields are sealed by default.
    """

    cls: FieldClass = attrs.field(converter=_field_class)
    mask: Mask = attrs.field(factory=Redact)
    purpose: str = "service"
    sealed: bool | None = None

    @property
    def shredded(self) -> bool:
        """Whether the field is sealed per subject (and so erased with the subject's key)."""
        return self.sealed if self.sealed is not None else self.cls in PERSONAL_CLASSES


def _rules(value: Mapping[str, FieldRule | FieldClass | str]) -> Mapping[str, FieldRule]:
    out: dict[str, FieldRule] = {}
    for name, rule in value.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise InvalidCatalogue(f"catalogue field {name!r} is not a valid field name")
        out[name] = rule if isinstance(rule, FieldRule) else FieldRule(rule)
    return MappingProxyType(out)


def _visibility(value: Mapping[Any, Iterable[str] | str] | None) -> Mapping[FieldClass,
                                                                           tuple[str, ...]]:
    merged: dict[FieldClass, tuple[str, ...]] = dict(DEFAULT_VISIBILITY)
    for cls, roles in (value or {}).items():
        merged[_field_class(cls)] = names_tuple(roles)
    return MappingProxyType(merged)


@attrs.frozen
class Catalogue:
    """The classification of one process's data fields.

    - ``process``: the process name it classifies;
    - ``fields``: field name → :class:`FieldRule` (or just a :class:`FieldClass`);
    - ``visible``: class → roles that may see it unmasked (defaults:
      :data:`DEFAULT_VISIBILITY`);
    - ``subject_field``: the field naming the data subject (the customer), whose key seals
      the personal fields of the case;
    - ``consent_purposes``: the purposes for which collecting personal data needs the
      subject's recorded consent (003 §5.1, §5.3; PIPL Art. 13-14). Empty: none is checked.

    Fields not in the catalogue are unclassified: shown to everyone, except that free text in
    them is scanned by the recognisers (:mod:`servicewf.privacy.recognisers`) for roles that
    may not see personal data.
    """

    process: str
    fields: Mapping[str, FieldRule] = attrs.field(factory=dict, converter=_rules)
    visible: Mapping[FieldClass, tuple[str, ...]] = attrs.field(default=None,
                                                                converter=_visibility)
    subject_field: str | None = "customer_ref"
    consent_purposes: tuple[str, ...] = attrs.field(default=(), converter=names_tuple)

    def rule(self, field: str) -> FieldRule | None:
        """The rule of ``field`` (``None``: unclassified)."""
        return self.fields.get(field)

    def may_see(self, role: str, cls: FieldClass) -> bool:
        """Whether ``role`` may see values of class ``cls`` unmasked."""
        return role in self.visible.get(cls, ())

    def sees_personal(self, role: str) -> bool:
        """Whether ``role`` may see personal data (and so free text unredacted)."""
        return self.may_see(role, FieldClass.PERSONAL)

    def classified(self, cls: FieldClass) -> list[str]:
        """The fields of class ``cls``, sorted."""
        return sorted(n for n, r in self.fields.items() if r.cls is cls)

    @property
    def sealed_fields(self) -> frozenset[str]:
        """The fields stored encrypted under the data subject's key."""
        return frozenset(n for n, r in self.fields.items() if r.shredded)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON/TOML/YAML-able), to keep beside a definition file."""
        return {
            "process": self.process,
            "subject_field": self.subject_field,
            "consent_purposes": list(self.consent_purposes),
            "visible": {cls.value: list(roles) for cls, roles in self.visible.items()},
            "fields": {name: {"class": rule.cls.value, "mask": mask_to_dict(rule.mask),
                              "purpose": rule.purpose, "sealed": rule.sealed}
                       for name, rule in self.fields.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Catalogue:
        """The catalogue :meth:`to_dict` wrote (a field may be given as just its class)."""
        try:
            fields: dict[str, FieldRule] = {}
            for name, spec in dict(data.get("fields", {})).items():
                if isinstance(spec, str):
                    fields[name] = FieldRule(spec)
                    continue
                fields[name] = FieldRule(spec["class"], mask_from_dict(spec.get("mask")),
                                         spec.get("purpose", "service"), spec.get("sealed"))
            return cls(data["process"], fields, visible=data.get("visible"),
                       subject_field=data.get("subject_field", "customer_ref"),
                       consent_purposes=data.get("consent_purposes", ()))
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidCatalogue(f"a catalogue in plain data needs 'process' and, per "
                                   f"field, a 'class' ({type(exc).__name__}: {exc})") from None


def _by_process(value: Mapping[str, Catalogue] | Iterable[Catalogue]) -> Mapping[str, Catalogue]:
    items = value.values() if isinstance(value, Mapping) else value
    out: dict[str, Catalogue] = {}
    for c in items:
        out[c.process] = c
    return MappingProxyType(out)


@attrs.frozen
class Catalogues:
    """The catalogues of several processes, by process name."""

    by_process: Mapping[str, Catalogue] = attrs.field(converter=_by_process)

    def for_process(self, process: str) -> Catalogue:
        """The catalogue of ``process`` (an empty one, with default visibility, if none)."""
        found = self.by_process.get(process)
        return found if found is not None else Catalogue(process, subject_field=None)

    def __iter__(self) -> Iterator[Catalogue]:
        return iter(self.by_process.values())

    def with_catalogue(self, catalogue: Catalogue) -> Catalogues:
        """A copy with ``catalogue`` added (replacing one for the same process)."""
        return Catalogues({**self.by_process, catalogue.process: catalogue})


# --- the built-in processes ----------------------------------------------------------------

_P = FieldClass.PERSONAL
_S = FieldClass.SENSITIVE
_F = FieldClass.FINANCIAL
_I = FieldClass.INTERNAL

_REF = FieldRule(_P, Pseudonym())          # a customer reference: linkable, not readable
_PHONE = FieldRule(_P, PartialMask(keep_end=4))
_NAME = FieldRule(_P, PartialMask(keep_start=1))
_ADDRESS = FieldRule(_P)
_STAFF = FieldRule(_I)


def _fields(**rules: FieldRule) -> dict[str, FieldRule]:
    return rules


_BUILTIN: dict[str, dict[str, FieldRule]] = {
    "service_request": _fields(
        customer_ref=_REF, contact=_PHONE, signer=_NAME, confirmed_by=_NAME,
        plan_fee=FieldRule(_F), owner=_STAFF, task_owner=_STAFF, plan_staff=_STAFF,
        delivered_by=_STAFF),
    "complaint": _fields(
        customer_ref=_REF, owner=_STAFF, tracker=_STAFF, first_receiver=_STAFF,
        supervisor=_STAFF, handler=_STAFF),
    "consultation": _fields(customer_ref=_REF),
    "after_sales": _fields(customer_ref=_REF, address=_ADDRESS, technician=_STAFF),
    "contract": _fields(customer_ref=_REF, customer_signatory=_NAME,
                        company_signatory=_STAFF),
    "contract_change": _fields(customer_signatory=_NAME, company_signatory=_STAFF),
    # A change of customer data carries the data itself (identity documents among it).
    "customer_data_change": _fields(customer_ref=_REF, changes=FieldRule(_S),
                                    requested_by=_NAME, approved_by=_STAFF,
                                    applied_by=_STAFF),
    "service_problem": _fields(owner=_STAFF, chaired_by=_STAFF, verified_by=_STAFF),
    "incident": _fields(response_lead=_STAFF),
    "improvement_action": _fields(owner=_STAFF, checked_by=_STAFF),
    "access_grant": _fields(grantee=_STAFF, approved_by=_STAFF),
}


def builtin_catalogues() -> Catalogues:
    """The catalogues of the built-in processes (P1-P9), with :data:`DEFAULT_VISIBILITY`.

    Customer references are personal (pseudonymised for roles that may not see them);
    contacts, signers and addresses are personal; the data of a customer-data change is
    sensitive; fees are financial; staff names are internal. Every personal field is sealed
    under the customer's key. Derive your own with :meth:`Catalogues.with_catalogue`.
    """
    out = []
    for process, rules in _BUILTIN.items():
        subject = "customer_ref" if "customer_ref" in rules else None
        out.append(Catalogue(process, rules, subject_field=subject))
    return Catalogues(out)
