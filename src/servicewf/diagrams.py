"""Diagrams as text: Mermaid ``stateDiagram-v2`` and Graphviz DOT, from any definition.

No external binary is needed to produce them; render them wherever Mermaid or Graphviz runs
(GitHub and most documentation tools render Mermaid blocks directly).
"""

from __future__ import annotations

from collections import defaultdict

from servicewf.definition import ProcessDefinition
from servicewf.definition.validation import expand_sources

__all__ = ["dot", "mermaid"]


def _edges(definition: ProcessDefinition, lang: str) -> dict[tuple[str, str], list[str]]:
    """Labels of the transitions between each pair of states, in declaration order."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for t in definition.transitions:
        label = t.label(lang) if lang != "en" else t.trigger
        for src in expand_sources(t, definition.states):
            names = edges[(src, t.target(src))]
            if label not in names:
                names.append(label)
    return edges


def _mermaid_text(text: str) -> str:
    # Mermaid ends a label at ':' or ';' and chokes on quotes; swap them for look-alikes.
    return text.replace(":", "：").replace(";", "；").replace('"', "'")


def mermaid(definition: ProcessDefinition, *, lang: str = "en") -> str:
    """A Mermaid state diagram: states labelled in ``lang``, edges labelled with triggers
    (``lang="en"``) or with transition labels in Chinese (``"zh_hant"``/``"zh_hans"``)."""
    lines = ["stateDiagram-v2"]
    for s in definition.states:
        lines.append(f'    state "{_mermaid_text(s.label(lang))}" as {s.id}')
    lines.append(f"    [*] --> {definition.initial.id}")
    for (src, dest), labels in _edges(definition, lang).items():
        lines.append(f"    {src} --> {dest}: {_mermaid_text(' / '.join(labels))}")
    for s in definition.states:
        if s.final:
            lines.append(f"    {s.id} --> [*]")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(definition: ProcessDefinition, *, lang: str = "en") -> str:
    """A Graphviz DOT digraph of ``definition`` (final states drawn as double circles)."""
    lines = [
        f"digraph {_dot_quote(definition.name)} {{",
        "    rankdir=LR;",
        '    node [shape=box, style=rounded, fontname="Noto Sans CJK SC, sans-serif"];',
        "    __start [shape=point];",
    ]
    for s in definition.states:
        shape = ", shape=doublecircle" if s.final else ""
        lines.append(f"    {s.id} [label={_dot_quote(s.label(lang))}{shape}];")
    lines.append(f"    __start -> {definition.initial.id};")
    for (src, dest), labels in _edges(definition, lang).items():
        lines.append(f"    {src} -> {dest} [label={_dot_quote(' / '.join(labels))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
