"""P9 contract."""

from __future__ import annotations

import pytest

from servicewf import DataMissing, GuardFailed
from tests.processes.support import Harness


def test_contract_with_failed_review() -> None:
    h = Harness()
    case = h.run(h.open("contract", customer_ref="C-7", subject="maintenance"),
                 "draft", "submit_review", "review_failed", "draft", "submit_review")
    with pytest.raises(DataMissing):
        h.fire(case, "sign", company_review=None)
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "sign", company_review="  ")
    assert (err.value.guard, err.value.rule) == ("both_parties_reviewed", "003 §7.1")
    case = h.run(case, "sign", "seal")
    assert [d for _, _, d in h.trail(case)] == [
        "negotiating", "drafted", "under_review", "drafted", "drafted", "under_review",
        "signed", "sealed"]
