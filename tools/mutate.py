"""Mutation testing for one module at a time: do the tests fail when the code is wrong?

    python tools/mutate.py src/servicewf/engine.py --tests tests/engine tests/contract \\
        [--sample N --seed S] [--timeout T] [--budget SECONDS] [--json FILE]

The tool parses the module with :mod:`ast`, lists every single-point mutant (below), and for
each one (or a seeded random sample of ``N``) writes the mutated module into a *temporary
copy* of the source tree, then runs ``pytest -x -q -p no:cacheprovider`` on the given tests
with that copy first on ``PYTHONPATH``. A mutant is **killed** when pytest fails, **survived**
when it passes, **timeout** when it runs longer than ``--timeout``. The working tree is never
written to: parallel runs do not see each other's mutants, and an interrupted run leaves at
most a stale directory under the system temp dir.

Operators (the names used in reports and in the equivalents file):

* ``compare``      ``<``→``<=``, ``<=``→``<``, ``>``→``>=``, ``>=``→``>``, ``==``↔``!=``,
  ``in``↔``not in``, ``is``↔``is not``
* ``negate_cond``  ``if x`` / ``while x`` / ``a if x else b`` → ``not x``
* ``bool_op``      ``and``↔``or``
* ``delete_call``  an expression statement that is a call (``f(x)``, ``await f(x)``) → ``pass``
* ``delete_raise`` ``raise ...`` → ``pass``
* ``const_inc`` / ``const_dec``  a number constant ``n`` → ``n + 1`` / ``n - 1``
* ``bool_const``   ``True``↔``False``
* ``return_none``  ``return <value>`` → ``return None``

Not mutated: type annotations, ``if TYPE_CHECKING:`` and ``if __name__ == "__main__":``
tests, and lines carrying ``# pragma: no mutate``.

Score = killed / (total − equivalent). Timeouts are reported but not counted as killed (on a
shared machine a timeout may be load, not detection). Known-equivalent mutants (no test can
tell them apart from the original) are listed in ``tools/mutation-equivalents.txt``, one a
line: ``servicewf.engine:123:negate_cond  reason``; they are not run. A key names every
mutant of that operator on that line.

Why not mutmut: it mutates the working tree in place (an interrupted run leaves a mutated
file behind, and two developers' runs in one checkout collide), its configuration assumes
the package sits next to the tests rather than under ``src/``, and it is a heavy dependency
(its own cache database, many mutation operators we would then have to mark equivalent).
This file is ~400 lines of stdlib.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import importlib.util
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_EQUIVALENTS = Path(__file__).resolve().parent / "mutation-equivalents.txt"
NO_MUTATE = "pragma: no mutate"

COMPARE_SWAP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}

# Flipping these is negating the comparison: `negate_cond` would repeat the `compare` mutant.
SELF_NEGATING = (ast.Eq, ast.NotEq, ast.In, ast.NotIn, ast.Is, ast.IsNot)


@dataclass
class Mutant:
    """One single-point change: node number ``node`` in ``ast.walk`` order, operator ``op``,
    and for comparisons the index of the comparison operator."""

    id: int
    line: int
    col: int
    op: str
    node: int
    index: int = 0
    status: str = "not run"  # killed | survived | timeout | equivalent | not run
    seconds: float = 0.0
    diff: str = ""
    killed_by: str = ""
    reason: str = ""  # why it is equivalent

    def key(self, module: str) -> str:
        return f"{module}:{self.line}:{self.op}"


@dataclass
class Report:
    module: str
    path: str
    tests: list[str]
    total_mutants: int
    sample: int | None
    seed: int | None
    timeout: float
    baseline_seconds: float
    mutants: list[Mutant] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(m.status == status for m in self.mutants)

    @property
    def scored(self) -> int:
        """Mutants that count: all run or to run, less the equivalent ones."""
        return len(self.mutants) - self.count("equivalent")

    @property
    def score(self) -> float | None:
        return self.count("killed") / self.scored if self.scored else None


# --- finding mutants ----------------------------------------------------------------------


def _skipped_nodes(tree: ast.AST, lines: list[str]) -> set[int]:
    """ids of nodes never mutated: annotations, TYPE_CHECKING / __main__ guards, pragmas."""
    skip: set[int] = set()

    def whole(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.arg | ast.AnnAssign):
            whole(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            whole(node.returns)
        elif isinstance(node, ast.If):
            test = ast.unparse(node.test)
            if test in ("TYPE_CHECKING", "typing.TYPE_CHECKING") or "__name__" in test:
                whole(node.test)
                skip.add(id(node))
        lineno = getattr(node, "lineno", None)
        if lineno is not None and NO_MUTATE in lines[lineno - 1]:
            skip.add(id(node))
    return skip


def _candidates(node: ast.AST) -> Iterator[tuple[str, int]]:
    """(operator, index) pairs that apply to ``node``."""
    if isinstance(node, ast.Compare):
        for i, cmp in enumerate(node.ops):
            if type(cmp) in COMPARE_SWAP:
                yield "compare", i
    elif isinstance(node, ast.If | ast.While | ast.IfExp):
        test = node.test
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1
                and isinstance(test.ops[0], SELF_NEGATING)):
            yield "negate_cond", 0  # (else `compare` already makes exactly this mutant)
    elif isinstance(node, ast.BoolOp):
        yield "bool_op", 0
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call | ast.Await):
        yield "delete_call", 0
    elif isinstance(node, ast.Raise):
        yield "delete_raise", 0
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool):
            yield "bool_const", 0
        elif isinstance(node.value, int | float) and not isinstance(node.value, complex):
            yield "const_inc", 0
            yield "const_dec", 0
    elif (isinstance(node, ast.Return) and node.value is not None
          and not (isinstance(node.value, ast.Constant) and node.value.value is None)):
        yield "return_none", 0


def find_mutants(source: str) -> list[Mutant]:
    tree = ast.parse(source)
    skip = _skipped_nodes(tree, source.splitlines())
    out: list[Mutant] = []
    for number, node in enumerate(ast.walk(tree)):
        if id(node) in skip:
            continue
        for op, index in _candidates(node):
            line, col = getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
            out.append(Mutant(len(out), line, col, op, number, index))
    out.sort(key=lambda m: (m.line, m.col, m.op, m.index))
    for i, m in enumerate(out):
        m.id = i
    return out


def _parents(tree: ast.AST) -> dict[int, tuple[ast.AST, str, int | None]]:
    parents: dict[int, tuple[ast.AST, str, int | None]] = {}
    for node in ast.walk(tree):
        for name, value in ast.iter_fields(node):
            if isinstance(value, list):
                for i, child in enumerate(value):
                    if isinstance(child, ast.AST):
                        parents[id(child)] = (node, name, i)
            elif isinstance(value, ast.AST):
                parents[id(value)] = (node, name, None)
    return parents


def _replace(parents: dict[int, tuple[ast.AST, str, int | None]], old: ast.AST,
             new: ast.AST) -> None:
    parent, name, index = parents[id(old)]
    ast.copy_location(new, old)
    if index is None:
        setattr(parent, name, new)
    else:
        getattr(parent, name)[index] = new


def apply(source: str, mutant: Mutant) -> str:
    """The module's source with ``mutant`` applied (``ast.unparse``: comments are lost)."""
    tree = ast.parse(source)
    nodes = list(ast.walk(tree))
    node = nodes[mutant.node]
    parents = _parents(tree)
    op = mutant.op
    if op == "compare":
        assert isinstance(node, ast.Compare)
        node.ops[mutant.index] = COMPARE_SWAP[type(node.ops[mutant.index])]()
    elif op == "negate_cond":
        assert isinstance(node, ast.If | ast.While | ast.IfExp)
        node.test = ast.UnaryOp(ast.Not(), node.test)
    elif op == "bool_op":
        assert isinstance(node, ast.BoolOp)
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif op in ("delete_call", "delete_raise"):
        _replace(parents, node, ast.Pass())
    elif op in ("const_inc", "const_dec", "bool_const"):
        assert isinstance(node, ast.Constant)
        if op == "bool_const":
            node.value = not node.value
        else:
            node.value = node.value + (1 if op == "const_inc" else -1)
    elif op == "return_none":
        assert isinstance(node, ast.Return)
        node.value = ast.Constant(None)
    else:  # pragma: no cover
        raise ValueError(op)
    return ast.unparse(ast.fix_missing_locations(tree))


def diff(original: str, mutated: str) -> str:
    """The changed lines (of the unparsed module), ``-`` before and ``+`` after."""
    lines = difflib.unified_diff(original.splitlines(), mutated.splitlines(), lineterm="", n=0)
    return "\n".join(line for line in lines
                     if not line.startswith(("---", "+++", "@@")))


# --- equivalents --------------------------------------------------------------------------


def load_equivalents(path: Path) -> dict[str, str]:
    """``{"module:line:operator": reason}`` from the equivalents file (missing file: none)."""
    out: dict[str, str] = {}
    if not path.exists():
        return out
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, reason = line.partition(" ")
        if key.count(":") != 2 or not reason.strip():
            raise SystemExit(f"{path}:{number}: expected 'module:line:operator reason', "
                             f"got {raw!r}")
        out[key] = reason.strip()
    return out


# --- running ------------------------------------------------------------------------------


def module_location(path: Path) -> tuple[Path, str]:
    """(source root, dotted module name): climbs the packages (``__init__.py``) above
    ``path``; ``src/servicewf/sla/fold.py`` → (``src``, ``servicewf.sla.fold``)."""
    path = path.resolve()
    parts = [path.stem] if path.stem != "__init__" else []
    folder = path.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return folder, ".".join(parts)


class Runner:
    """Runs pytest against a temporary copy of the source root."""

    def __init__(self, root: Path, module_path: Path, tests: list[str], extra: list[str],
                 seed: int) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="servicewf-mutate-"))
        self.src = self.tmp / "src"
        shutil.copytree(root, self.src, ignore=shutil.ignore_patterns(
            "__pycache__", "*.pyc", "*.egg-info"))
        self.target = self.src / module_path.resolve().relative_to(root.resolve())
        self.tests = tests
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(
            [str(self.src)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
        # Hypothesis's example database: per run, outside the working tree.
        self.env["HYPOTHESIS_STORAGE_DIRECTORY"] = str(self.tmp / "hypothesis")
        self.args = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
        if importlib.util.find_spec("hypothesis") is not None:
            self.args.append(f"--hypothesis-seed={seed}")
        self.args += extra + tests
        self.writes = 0
        self.proc: subprocess.Popen[str] | None = None

    def write(self, source: str) -> None:
        self.target.write_text(source, encoding="utf-8")
        # A fresh mtime every write and no stale bytecode: two mutants of one size written in
        # the same second must not share a .pyc.
        self.writes += 1
        stamp = 1_000_000_000 + self.writes
        os.utime(self.target, (stamp, stamp))
        for pyc in (self.target.parent / "__pycache__").glob(f"{self.target.stem}.*.pyc"):
            pyc.unlink()

    def imported_file(self, module: str) -> str:
        done = subprocess.run(
            # sys.modules, not `import a.b as m`: a package may export a function named like
            # one of its modules (servicewf.sla.sweep), and the import statement takes that.
            [sys.executable, "-c", f"import importlib, sys; importlib.import_module({module!r}); "
             f"print(sys.modules[{module!r}].__file__)"],
            env=self.env, capture_output=True, text=True, check=False, timeout=120)
        return done.stdout.strip() or done.stderr.strip()

    def run(self, timeout: float) -> tuple[str, float, str]:
        """(killed | survived | timeout, seconds, first failure line)."""
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return "timeout", time.monotonic() - t0, ""
        elapsed = time.monotonic() - t0
        code, self.proc = self.proc.returncode, None
        if code == 0:
            return "survived", elapsed, ""
        failed = [ln for ln in out.splitlines() if ln.startswith(("FAILED", "ERROR"))]
        return "killed", elapsed, (failed[0] if failed else f"pytest exit {code}")[:300]

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


# --- reporting ----------------------------------------------------------------------------


def format_report(report: Report) -> str:
    r = report
    out = [f"mutation report: {r.path} ({r.module}); tests: {' '.join(r.tests)}"]
    is_sample = r.sample is not None and r.sample < r.total_mutants
    sampled = (f"{len(r.mutants)} sampled of {r.total_mutants} (seed {r.seed})"
               if is_sample else f"{len(r.mutants)} of {r.total_mutants}")
    out.append(f"mutants: {sampled}; killed {r.count('killed')}, survived "
               f"{r.count('survived')}, timeout {r.count('timeout')}, equivalent "
               f"{r.count('equivalent')}, not run {r.count('not run')}")
    out.append(f"baseline test run {r.baseline_seconds:.1f}s, timeout {r.timeout:.0f}s")
    survivors = [m for m in r.mutants if m.status in ("survived", "timeout")]
    if survivors:
        out.append("survivors:")
        for m in survivors:
            tag = "" if m.status == "survived" else " [timeout]"
            out.append(f"  #{m.id} line {m.line} {m.op}{tag}  ({m.key(r.module)})")
            out.extend("      " + line for line in m.diff.splitlines())
    score = "n/a" if r.score is None else f"{100 * r.score:.1f}%"
    out.append(f"MUTATION {r.module} killed={r.count('killed')} total={r.scored} "
               f"score={score} survived={r.count('survived')} timeout={r.count('timeout')} "
               f"not_run={r.count('not run')}")
    sample = (f"{len(r.mutants)} of {r.total_mutants}, seed {r.seed}" if is_sample
              else f"{len(r.mutants)} of {r.total_mutants}")
    out.append(f"table row: | `{r.module}` | {' '.join(r.tests)} | {sample} | "
               f"{r.count('killed')}/{r.scored} | {score} |")
    return "\n".join(out)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", type=Path, help="the module's file, e.g. src/servicewf/engine.py")
    parser.add_argument("--tests", nargs="+", required=True, help="pytest paths to run")
    parser.add_argument("--sample", type=int, help="run a random sample of N mutants")
    parser.add_argument("--seed", type=int, default=1, help="sample seed (default 1)")
    parser.add_argument("--timeout", type=float,
                        help="seconds per mutant (default: 3 × the baseline run + 10)")
    parser.add_argument("--budget", type=float,
                        help="stop starting mutants after this many seconds (rest: not run)")
    parser.add_argument("--mutant", type=int, action="append",
                        help="run only these mutant ids (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--equivalents", type=Path, default=DEFAULT_EQUIVALENTS)
    parser.add_argument("--pytest-args", default="", help="extra pytest arguments (one string)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)

    path: Path = args.module
    source = path.read_text(encoding="utf-8")
    root, module = module_location(path)
    original = ast.unparse(ast.parse(source))
    mutants = find_mutants(source)
    total = len(mutants)
    if args.mutant:
        mutants = [m for m in mutants if m.id in set(args.mutant)]
    elif args.sample is not None and args.sample < len(mutants):
        mutants = sorted(random.Random(args.seed).sample(mutants, args.sample),
                         key=lambda m: m.id)
    for m in mutants:
        m.diff = diff(original, apply(source, m))
    if args.list:
        for m in mutants:
            print(f"#{m.id} line {m.line} {m.op}: {' / '.join(m.diff.splitlines())}")
        return 0

    equivalents = load_equivalents(args.equivalents)
    for m in mutants:
        if m.key(module) in equivalents:
            m.status, m.reason = "equivalent", equivalents[m.key(module)]

    signal.signal(signal.SIGTERM, _interrupt)  # `timeout`, `kill`: clean up like Ctrl-C
    runner = Runner(root, path, args.tests, shlex.split(args.pytest_args), args.seed)
    report = Report(module, str(path), args.tests, total, args.sample, args.seed,
                    args.timeout or 0.0, 0.0, mutants)
    started = time.monotonic()
    try:
        runner.write(original)
        where = runner.imported_file(module)
        if not where.startswith(str(runner.src)):
            print(f"error: {module} is imported from {where}, not from the mutated copy",
                  file=sys.stderr)
            return 2
        status, report.baseline_seconds, why = runner.run(args.timeout or 3600)
        if status != "survived":
            print(f"error: the tests do not pass on the unmutated module ({status}): {why}",
                  file=sys.stderr)
            return 2
        report.timeout = args.timeout or 3 * report.baseline_seconds + 10
        print(f"{module}: baseline {report.baseline_seconds:.1f}s; running "
              f"{sum(m.status == 'not run' for m in mutants)} of {total} mutants",
              file=sys.stderr, flush=True)
        for n, m in enumerate(mutants, start=1):
            if m.status == "equivalent":
                continue
            if args.budget is not None and time.monotonic() - started > args.budget:
                print("budget spent; the remaining mutants are not run", file=sys.stderr)
                break
            runner.write(apply(source, m))
            m.status, m.seconds, m.killed_by = runner.run(report.timeout)
            print(f"[{n}/{len(mutants)}] #{m.id} line {m.line} {m.op}: {m.status} "
                  f"({m.seconds:.1f}s)", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("interrupted; partial report", file=sys.stderr)
    finally:
        runner.close()

    print(format_report(report))
    if args.json is not None:
        data = asdict(report) | {"score": report.score, "scored": report.scored}
        args.json.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

