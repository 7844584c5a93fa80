"""P9 ``contract_change`` — 合同變更 (003 §7.1).

A change is requested in writing with its reason and content, negotiated, then agreed (and
signed and filed) or refused.
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

__all__ = ["CLOCKS_DOC", "INFO", "INTAKE", "ContractChangeData", "definition"]

NAME = "contract_change"
INTAKE = ("contract_ref", "reason", "content")
INTAKE_VOCABULARIES: dict[str, Vocabulary] = {}
CLOCKS_DOC: tuple[ClockDoc, ...] = ()


@attrs.frozen
class ContractChangeData:
    """Typed view of a contract change's data (``case.data_as(ContractChangeData)``)."""

    contract_ref: str | None = None
    reason: str | None = None
    content: str | None = None
    agreed_terms: str | None = None
    refusal_reason: str | None = None
    customer_signatory: str | None = None
    company_signatory: str | None = None
    file_ref: str | None = None


GUARDS: tuple[Guard, ...] = (
    fields_guard("written_request", INTAKE, rule="003 §7.1",
                 explain="a contract change is requested in writing with the contract, the "
                         "reason and the content of the change"),
)


def definition() -> ProcessDefinition:
    """The built-in ``contract_change`` definition (version 1)."""
    b = DefinitionBuilder(NAME, 1, description=(
        "A written contract change: negotiated, agreed and signed and filed, or refused."))
    b.labels = lab("Contract change", "合同變更", "合同变更")
    b.add_guard(*GUARDS)
    s = b.add_state
    s("requested", lab("Requested", "已申請", "已申请"), initial=True)
    s("negotiating", lab("Negotiating", "協商中", "协商中"))
    s("agreed", lab("Agreed", "已同意", "已同意"))
    s("refused", lab("Refused", "已拒絕", "已拒绝"), final=True)
    s("signed", lab("Signed", "已簽署", "已签署"))
    s("filed", lab("Filed", "已存檔", "已存档"), final=True)
    t = b.add_transition
    t("negotiate", "requested", "negotiating", labels=lab("Negotiate", "協商", "协商"),
      conditions=("written_request",))
    t("agree", "negotiating", "agreed", labels=lab("Agree", "同意", "同意"),
      required=("agreed_terms",))
    t("refuse", "negotiating", "refused", labels=lab("Refuse", "拒絕", "拒绝"),
      required=("refusal_reason",))
    t("sign", "agreed", "signed", labels=lab("Sign", "簽署", "签署"),
      required=("customer_signatory", "company_signatory"))
    t("file", "signed", "filed", labels=lab("File", "存檔", "存档"), required=("file_ref",))
    return with_intake(b, INTAKE, INTAKE_VOCABULARIES).build()


EXAMPLE = '''\
import pendulum
from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry, open_case

engine = Engine(MemoryStore(), FrozenClock(pendulum.datetime(2026, 5, 4, 9, tz="UTC")),
                builtin_registry())
sales = Actor("sales", "agent")
case = open_case(engine, "contract_change", actor=sales, data={
    "contract_ref": "CT-7", "reason": "增加服務網點", "content": "新增深圳網點"})
case = engine.fire(case, "negotiate", actor=sales)
print(case.state)   # negotiating
'''

INFO = ProcessInfo("P9", NAME, definition, ContractChangeData, INTAKE, INTAKE_VOCABULARIES,
                   CLOCKS_DOC, "003 §7.1", EXAMPLE)
