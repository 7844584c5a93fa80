"""The converters to frozen values: one spelling each."""

from __future__ import annotations

import pathlib
import re

from servicewf._frozen import names_tuple
from servicewf.definition import Transition
from servicewf.sla import On


def test_names_tuple_takes_one_name_or_several() -> None:
    assert names_tuple("closed") == ("closed",)
    assert names_tuple(["a", "b"]) == ("a", "b")
    assert names_tuple(n for n in ("a", "b")) == ("a", "b")
    assert names_tuple(None) == ()
    assert names_tuple("") == ("",)  # a string is one name, never its characters


def test_the_attrs_fields_use_it() -> None:
    assert Transition("go", "new", "done").sources == ("new",)
    assert Transition("go", ["a", "b"], "done", roles="agent").roles == ("agent",)
    assert On(enter="received", trigger=("x", "y")) == On(enter=("received",), trigger=["x", "y"])


def test_no_module_keeps_its_own_copy() -> None:
    root = pathlib.Path(__file__).resolve().parents[1] / "src" / "servicewf"
    pattern = re.compile(r"def _(tuple_of_str|names)\(|"
                         r"\[\w+\] if isinstance\(\w+, str\) else list\(|"
                         r"\(\w+,\) if isinstance\(\w+, str\) else")
    offenders = [p.relative_to(root).as_posix() for p in root.rglob("*.py")
                 if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
