"""P9 ``contract`` — 合同 (003 §7.1, 002 §2.1).

Negotiated, drafted, reviewed by both parties (back to drafting when the review fails), signed
by both parties and sealed.
"""

from __future__ import annotations

import attrs

from servicewf.definition import DefinitionBuilder, Guard, ProcessDefinition
from servicewf.processes.common import (
    ClockDoc,
    ProcessInfo,
    Vocabulary,
    fields_guard,
    lab,
    with_intake,
)

__all__ = ["CLOCKS_DOC", "INFO", "INTAKE", "ContractData", "definition"]

NAME = "contract"
INTAKE = ("customer_ref", "subject")
INTAKE_VOCABULARIES: dict[str, Vocabulary] = {}
CLOCKS_DOC: tuple[ClockDoc, ...] = ()


@attrs.frozen
class ContractData:
    """Typed view of a contract's data (``case.data_as(ContractData)``)."""

    customer_ref: str | None = None
    subject: str | None = None
    draft_ref: str | None = None
    customer_review: str | None = None
    company_review: str | None = None
    customer_signatory: str | None = None
    company_signatory: str | None = None
    seal_ref: str | None = None
    reason: str | None = None


GUARDS: tuple[Guard, ...] = (
    fields_guard("both_parties_reviewed", ("customer_review", "company_review"),
                 rule="003 §7.1", absent_ok=True,
                 explain="both parties review the draft (customer_review and company_review) "
                         "before it is signed"),
)


def definition() -> ProcessDefinition:
    """The built-in ``contract`` definition (version 1)."""
    b = DefinitionBuilder(NAME, 1, description=(
        "A service contract: negotiated, drafted, reviewed by both parties, signed, sealed."))
    b.labels = lab("Contract", "合同", "合同")
    b.add_guard(*GUARDS)
    s = b.add_state
    s("negotiating", lab("Negotiating", "洽談中", "洽谈中"), initial=True)
    s("drafted", lab("Drafted", "已起草", "已起草"))
    s("under_review", lab("Under review", "審核中", "审核中"))
    s("signed", lab("Signed", "已簽署", "已签署"))
    s("sealed", lab("Sealed", "已蓋章", "已盖章"), final=True)
    t = b.add_transition
    t("draft", ("negotiating", "drafted"), "drafted", labels=lab("Draft", "起草", "起草"),
      required=("draft_ref",))
    t("submit_review", "drafted", "under_review", labels=lab("Submit for review", "提交審核",
                                                             "提交审核"))
    t("review_failed", "under_review", "drafted", labels=lab("Review failed", "審核未通過",
                                                             "审核未通过"),
      required=("reason",))
    t("sign", "under_review", "signed", labels=lab("Sign", "簽署", "签署"),
      required=("customer_review", "company_review", "customer_signatory",
                "company_signatory"),
      conditions=("both_parties_reviewed",))
    t("seal", "signed", "sealed", labels=lab("Seal", "蓋章", "盖章"), required=("seal_ref",))
    return with_intake(b, INTAKE, INTAKE_VOCABULARIES).build()


EXAMPLE = '''\
import pendulum
from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry, open_case

engine = Engine(MemoryStore(), FrozenClock(pendulum.datetime(2026, 5, 4, 9, tz="UTC")),
                builtin_registry())
sales = Actor("sales", "agent")
case = open_case(engine, "contract", actor=sales, data={"customer_ref": "C-7",
                                                        "subject": "年度維保"})
case = engine.fire(case, "draft", actor=sales, data={"draft_ref": "DOC-1"})
case = engine.fire(case, "submit_review", actor=sales)
print(case.state)   # under_review
'''

INFO = ProcessInfo("P9", NAME, definition, ContractData, INTAKE, INTAKE_VOCABULARIES, CLOCKS_DOC,
                   "003 §7.1, 002 §2.1", EXAMPLE)
