"""Checks the Markdown docs against the code without running a line of them.

The Python blocks in the README and ``docs/`` would send requests if they ran, so they are read
with ``ast`` instead: each must compile, each import must resolve, attributes taken from imported
modules, classes and instances of those classes must exist, and calls to imported callables must
bind (keyword names, positional counts, required arguments). An operator's ``**kwargs`` is followed
to the base class it is passed on to (``BaseOperator`` rejects the rest), so ``pool=`` is fine and a
typo is not. Names a block uses without defining are placeholders (``page_id``), unless they look
like a class or are one of the provider's own names: those must be imported in the block, so every
block can be pasted alone.

The other checks keep the prose honest: every ``make <target>`` in code exists in the Makefile,
every relative link (and ``#anchor``) resolves, and every repository path or dotted
``airflow_provider_pagemeta`` name written in inline code exists.
"""

from __future__ import annotations

import ast
import builtins
import fnmatch
import importlib
import importlib.util
import inspect
import pkgutil
import re
import textwrap
import types
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

PACKAGE = "airflow_provider_pagemeta"


# ---------------------------------------------------------------------------------- Markdown


@dataclass(frozen=True)
class CodeBlock:
    """A fenced block: its file, the line of its opening fence, its language and its text."""

    path: Path
    line: int
    lang: str
    text: str

    def label(self, root: Path) -> str:
        return f"{self.path.relative_to(root)}:{self.line}"


FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def code_blocks(path: Path) -> list[CodeBlock]:
    """The fenced code blocks of a Markdown file (unclosed fences run to the end, as GitHub renders)."""
    blocks: list[CodeBlock] = []
    opened: tuple[int, str, str] | None = None
    body: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = FENCE.match(line)
        if opened is None:
            if match:
                info = match["info"].strip()
                opened = (number, match["fence"], info.split()[0].lower() if info else "")
                body = []
        elif match and match["fence"].startswith(opened[1]) and not match["info"].strip():
            blocks.append(CodeBlock(path, opened[0], opened[2], textwrap.dedent("\n".join(body))))
            opened = None
        else:
            body.append(line)
    if opened is not None:
        blocks.append(CodeBlock(path, opened[0], opened[2], textwrap.dedent("\n".join(body))))
    return blocks


def prose(path: Path) -> str:
    """The file's text outside fenced blocks (where inline code spans and links live)."""
    lines: list[str] = []
    fence: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = FENCE.match(line)
        if fence is None and match:
            fence = match["fence"]
        elif fence is not None and match and match["fence"].startswith(fence) and not match["info"].strip():
            fence = None
        elif fence is None:
            lines.append(line)
        else:
            lines.append("")
    return "\n".join(lines)


INLINE_CODE = re.compile(r"(`+)(?P<code>.+?)\1")


def inline_code(text: str) -> list[str]:
    return [m["code"].strip() for m in INLINE_CODE.finditer(text)]


# ---------------------------------------------------------------------------------- Python blocks


@dataclass(frozen=True)
class Known:
    """What the checker knows a name or expression to be.

    ``kind`` is ``module``, ``class``, ``callable`` (a function, or a method already bound when
    ``bound`` is true) or ``instance`` (an instance of the class ``obj``).
    """

    kind: str
    obj: Any
    bound: bool = False

    def describe(self) -> str:
        name = getattr(self.obj, "__qualname__", None) or getattr(self.obj, "__name__", repr(self.obj))
        return f"{name} instance" if self.kind == "instance" else str(name)


def classify(value: Any, *, bound: bool = False) -> Known | None:
    if isinstance(value, types.ModuleType):
        return Known("module", value)
    if inspect.isclass(value):
        return Known("class", value)
    if isinstance(value, property):
        return None
    if inspect.isroutine(value) or isinstance(value, types.MethodType):
        return Known("callable", value, bound=bound)  # a MethodType's signature already lacks self
    if value is None or isinstance(value, (str, int, float, bytes, bool)):
        return None
    return Known("instance", type(value))


@cache
def _class_source_attributes(cls: type) -> frozenset[str]:
    """Names a class assigns as ``self.<name> = ...`` anywhere in its own source."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return frozenset()
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            names.add(node.attr)
    return frozenset(names)


def instance_has(cls: type, attr: str) -> bool:
    """Whether instances of ``cls`` have ``attr``: on the class, annotated, or set by its code."""
    if hasattr(cls, attr):
        return True
    for klass in cls.__mro__:
        if attr in getattr(klass, "__annotations__", {}) or attr in getattr(klass, "__slots__", ()):
            return True
        if attr in {a.name for a in getattr(klass, "__attrs_attrs__", ())}:
            return True
        if attr in _class_source_attributes(klass):
            return True
    return False


def module_attribute(module: types.ModuleType, attr: str) -> tuple[bool, Any]:
    if hasattr(module, attr):
        return True, getattr(module, attr)
    if hasattr(module, "__path__"):
        name = f"{module.__name__}.{attr}"
        try:
            if importlib.util.find_spec(name) is not None:
                return True, importlib.import_module(name)
        except ImportError:
            pass
    return False, None


def attribute(known: Known, attr: str) -> tuple[bool, Known | None]:
    """Whether ``known.attr`` exists, and what it is when that can be told."""
    if known.kind == "module":
        found, value = module_attribute(known.obj, attr)
        return found, classify(value) if found else None
    if known.kind == "class":
        if not hasattr(known.obj, attr):
            return False, None
        return True, classify(getattr(known.obj, attr))
    if known.kind == "instance":
        cls = known.obj
        if not instance_has(cls, attr):
            return False, None
        try:
            static = inspect.getattr_static(cls, attr)
        except AttributeError:
            return True, None
        if isinstance(static, staticmethod):
            return True, classify(static.__func__)
        if isinstance(static, classmethod):
            return True, Known("callable", static.__func__, bound=True)
        if inspect.isfunction(static):
            return True, Known("callable", static, bound=True)
        return True, classify(static) if not hasattr(static, "__get__") else None
    return hasattr(known.obj, attr), None


# ---- signatures


@dataclass
class Accepted:
    """What a call may pass: keyword names, how many positionals, which names it must give."""

    keywords: set[str] = field(default_factory=set)
    positional: list[str] = field(default_factory=list)  # names, in order, that a positional fills
    any_positional: bool = False  # *args
    required: set[str] = field(default_factory=set)
    open_keywords: bool = False  # **kwargs that go somewhere the checker cannot follow


def _function_tree(func: Any) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node
    return None


def _super_init_call(tree: ast.AST, varkw: str) -> ast.Call | None:
    """The ``super().__init__(..., **kwargs)`` (or ``Base.__init__(self, ...)``) call passing ``varkw`` on."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "__init__"
            and any(k.arg is None and isinstance(k.value, ast.Name) and k.value.id == varkw for k in node.keywords)
        ):
            return node
    return None


def _rejects_leftovers(tree: ast.AST, varkw: str) -> bool:
    """``if kwargs: raise ...``: the **kwargs are collected only to be refused (BaseOperator)."""
    for node in ast.walk(tree):
        guarded = isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == varkw
        if guarded and any(isinstance(inner, ast.Raise) for inner in ast.walk(node)):
            return True
    return False


def class_accepts(cls: type) -> Accepted:
    """Merge the ``__init__`` signatures along the MRO while ``**kwargs`` are passed on."""
    accepted = Accepted()
    skip_positional, passed_explicitly = 0, set[str]()
    first = True
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        if klass is object:
            return accepted
        try:
            params = list(inspect.signature(init).parameters.values())[1:]
        except (TypeError, ValueError):
            accepted.open_keywords = True
            return accepted
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        for param in params:
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or param.name in passed_explicitly:
                continue
            if param.kind == param.POSITIONAL_OR_KEYWORD and positional.index(param) < skip_positional:
                continue
            if param.kind != param.POSITIONAL_ONLY:
                accepted.keywords.add(param.name)
            if first and param.default is param.empty:
                accepted.required.add(param.name)
        if first:
            accepted.positional = [p.name for p in positional]
            accepted.any_positional = any(p.kind == p.VAR_POSITIONAL for p in params)
        first = False
        varkw = next((p.name for p in params if p.kind == p.VAR_KEYWORD), None)
        if varkw is None:
            return accepted
        tree = _function_tree(init)
        call = _super_init_call(tree, varkw) if tree is not None else None
        if call is None:
            accepted.open_keywords = tree is None or not _rejects_leftovers(tree, varkw)
            return accepted
        skip_positional = len(call.args) - (1 if isinstance(call.func.value, ast.Name) else 0)  # type: ignore[attr-defined]
        passed_explicitly = {k.arg for k in call.keywords if k.arg}
    return accepted


def callable_accepts(func: Any, bound: bool) -> Accepted | None:
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return None
    if bound and params and params[0].kind in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
        params = params[1:]
    accepted = Accepted()
    accepted.positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    accepted.any_positional = any(p.kind == p.VAR_POSITIONAL for p in params)
    accepted.open_keywords = any(p.kind == p.VAR_KEYWORD for p in params)
    for param in params:
        if param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            accepted.keywords.add(param.name)
        if param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD) and param.default is param.empty:
            accepted.required.add(param.name)
    return accepted


def call_problems(target: Known, call: ast.Call) -> list[str]:
    """What is wrong with calling ``target`` as ``call`` does (keywords, positionals, required names)."""
    if target.kind == "class":
        accepted = class_accepts(target.obj)
    elif target.kind == "callable":
        maybe = callable_accepts(target.obj, target.bound)
        if maybe is None:
            return []
        accepted = maybe
    else:
        return []
    name = target.describe()
    problems = []
    for keyword in call.keywords:
        if keyword.arg is not None and keyword.arg not in accepted.keywords and not accepted.open_keywords:
            problems.append(f"{name}() has no argument {keyword.arg!r}")
    elided = any(
        isinstance(a, ast.Starred) or (isinstance(a, ast.Constant) and a.value is Ellipsis) for a in call.args
    ) or any(k.arg is None for k in call.keywords)
    if elided:
        return problems
    if not accepted.any_positional and len(call.args) > len(accepted.positional):
        problems.append(
            f"{name}() takes {len(accepted.positional)} positional arguments, the block gives {len(call.args)}"
        )
    given = set(accepted.positional[: len(call.args)]) | {k.arg for k in call.keywords if k.arg}
    missing = accepted.required - given
    if missing:
        problems.append(f"{name}() is missing required argument(s) {', '.join(sorted(missing))}")
    return problems


def returned(func: Any) -> Known | None:
    """An instance of the function's annotated return class, when it names one plain class."""
    try:
        hint = typing.get_type_hints(func).get("return")
    except Exception:  # annotations that only resolve under TYPE_CHECKING: nothing to go on
        return None
    return Known("instance", hint) if inspect.isclass(hint) and hint is not type(None) else None


# ---- the block visitor


@cache
def provider_names() -> frozenset[str]:
    """Public classes and functions defined anywhere in the provider package."""
    package = importlib.import_module(PACKAGE)
    names: set[str] = set()
    for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
        if ".sandbox." in f"{info.name}." and info.name.endswith("pytest_plugin"):
            continue
        try:
            module = importlib.import_module(info.name)
        except Exception:  # a module that cannot import is reported by the import check, not here
            continue
        for name, value in vars(module).items():
            if name.startswith("_") or not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            if getattr(value, "__module__", "").startswith(PACKAGE):
                names.add(name)
    return frozenset(names)


def bound_names(tree: ast.AST) -> set[str]:
    """Every name the block binds anywhere (assignment, loop, import, def, parameter, ``as``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


def looks_like_class(name: str) -> bool:
    return name[:1].isupper() and any(c.islower() for c in name)


class BlockChecker(ast.NodeVisitor):
    """Walks a block in source order, tracking what each name is, and records every problem."""

    def __init__(self) -> None:
        self.env: dict[str, Known | None] = {}
        self.problems: list[str] = []

    def report(self, node: ast.AST, message: str) -> None:
        self.problems.append(f"line {getattr(node, 'lineno', '?')}: {message}")

    # -- what an expression is
    def resolve(self, node: ast.AST) -> Known | None:
        if isinstance(node, ast.Name):
            return self.env.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return attribute(base, node.attr)[1] if base is not None else None
        if isinstance(node, ast.Call):
            target = self.resolve(node.func)
            if target is not None and target.kind == "class":
                return Known("instance", target.obj)
            if target is not None and target.kind == "callable":
                return returned(target.obj)
        return None

    # -- imports
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            try:
                module = importlib.import_module(alias.name)
            except ImportError as exc:
                self.report(node, f"import {alias.name}: {exc}")
                continue
            if alias.asname:
                self.env[alias.asname] = Known("module", module)
            else:
                top = alias.name.split(".")[0]
                self.env[top] = Known("module", importlib.import_module(top))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.report(node, "relative import in a docs block")
            return
        try:
            module = importlib.import_module(node.module or "")
        except ImportError as exc:
            self.report(node, f"from {node.module} import ...: {exc}")
            return
        for alias in node.names:
            if alias.name == "*":
                self.report(node, f"from {node.module} import *: name what the block uses")
                continue
            found, value = module_attribute(module, alias.name)
            if not found:
                self.report(node, f"{node.module} has no name {alias.name!r}")
            self.env[alias.asname or alias.name] = classify(value) if found else None

    # -- uses
    def visit_Attribute(self, node: ast.Attribute) -> None:
        base = self.resolve(node.value)
        if base is not None and not attribute(base, node.attr)[0]:
            self.report(node, f"{base.describe()} has no attribute {node.attr!r}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        target = self.resolve(node.func)
        if target is not None:
            for message in call_problems(target, node):
                self.report(node, message)
        self.generic_visit(node)

    # -- bindings
    def bind(self, target: ast.AST, value: Known | None) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = value
            return
        for node in ast.walk(target):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self.env[node.id] = None
        if not isinstance(target, (ast.Tuple, ast.List, ast.Starred)):
            self.visit(target)  # x.attr = ... / x[k] = ...: check the x part

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        value = self.resolve(node.value)
        for target in node.targets:
            self.bind(target, value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.annotation)
        self.bind(node.target, self.resolve(node.value) if node.value is not None else None)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        self.bind(node.target, None)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.bind(node.target, self.resolve(node.value))

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.bind(node.target, None)
        for statement in [*node.body, *node.orelse]:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.bind(item.optional_vars, self.resolve(item.context_expr))
        for statement in node.body:
            self.visit(statement)

    visit_AsyncWith = visit_With

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.env[node.name] = None
        for statement in node.body:
            self.visit(statement)

    # -- scopes: parameters shadow outer names inside
    def _scoped(self, parameters: ast.arguments, body: Iterable[ast.AST]) -> None:
        saved = dict(self.env)
        for arg in [*parameters.posonlyargs, *parameters.args, *parameters.kwonlyargs]:
            self.env[arg.arg] = None
        for arg in (parameters.vararg, parameters.kwarg):
            if arg is not None:
                self.env[arg.arg] = None
        for statement in body:
            self.visit(statement)
        self.env = saved

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        for default in [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]:
            self.visit(default)
        self.env[node.name] = None
        self._scoped(node.args, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._scoped(node.args, [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(expr)
        self.env[node.name] = None
        saved = dict(self.env)
        for statement in node.body:
            self.visit(statement)
        self.env = saved

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        saved = dict(self.env)
        for generator in node.generators:
            self.visit(generator.iter)
            self.bind(generator.target, None)
            for condition in generator.ifs:
                self.visit(condition)
        if isinstance(node, ast.DictComp):
            self.visit(node.key)
            self.visit(node.value)
        else:
            self.visit(node.elt)
        self.env = saved

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension


def check_python(source: str) -> list[str]:
    """Every problem found in one Python block (empty: the block matches the code)."""
    try:
        compile(source, "<docs block>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except SyntaxError as exc:
        return [f"line {exc.lineno}: does not compile: {exc.msg}"]
    tree = ast.parse(source)
    checker = BlockChecker()
    checker.visit(tree)
    problems = checker.problems
    defined = bound_names(tree) | set(dir(builtins))
    ours = provider_names()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in defined:
            if node.id in ours:
                problems.append(f"line {node.lineno}: {node.id} is the provider's, import it in the block")
            elif looks_like_class(node.id):
                problems.append(f"line {node.lineno}: {node.id} is neither imported nor defined in the block")
            defined.add(node.id)  # one report per name
    return problems


# ---------------------------------------------------------------------------------- prose checks


@cache
def makefile_targets(makefile: Path) -> frozenset[str]:
    targets: set[str] = set()
    for line in makefile.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-$()% ]+?)\s*:(?![=:])", line)
        if match and not line.startswith((" ", "\t")):
            targets.update(t for t in match[1].split() if not t.startswith((".", "$")))
    return frozenset(targets)


MAKE = re.compile(r"(?<![\w./-])make\s+(?P<args>[^\n#;|&)`]*)")
SHELL = ("bash", "sh", "shell", "console")


def make_targets_in(text: str, *, first_only: bool = False) -> Iterator[str]:
    """The targets of every ``make ...`` command in a piece of code (options and VAR=value skipped).

    In plain-text blocks (``first_only``) a command is followed by prose ("run by make demo and ..."),
    so only its first target is taken.
    """
    for match in MAKE.finditer(text):
        for word in match["args"].split():
            if word.startswith("-") or "=" in word:
                continue
            if not re.fullmatch(r"[a-z][\w.-]*", word):
                break
            yield word
            if first_only:
                break


def _without_comments(shell: str) -> str:
    return "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in shell.splitlines())


def make_problems(path: Path, makefile: Path) -> list[str]:
    blocks = code_blocks(path)
    commands = [_without_comments(b.text) for b in blocks if b.lang in SHELL] + inline_code(prose(path))
    texts = [b.text for b in blocks if b.lang in ("", "text")]
    found = [t for text in commands for t in make_targets_in(text)]
    found += [t for text in texts for t in make_targets_in(text, first_only=True)]
    targets = makefile_targets(makefile)
    return sorted({f"make {t}: no such target in the Makefile" for t in found if t not in targets})


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().replace("`", "").replace("*", "").lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for line in prose(path).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        base = slug(match[1])
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


LINK = re.compile(r"(?<!!)\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")


def link_problems(path: Path) -> list[str]:
    problems = []
    for match in LINK.finditer(INLINE_CODE.sub("", prose(path))):
        target = match["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            problems.append(f"link to {target}: {file_part} does not exist")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"link to {target}: no heading #{anchor} in {linked.name}")
    return problems


REPO_PATH = re.compile(
    r"^(?:airflow_provider_pagemeta|tests|dags_examples|benchmarks|scripts|docs)/[\w./*-]*(?:::[\w*\[\]-]+)?$"
)
DOTTED = re.compile(rf"^{PACKAGE}(?:\.\w+)+$")


def ignored_by_git(root: Path, relative: str) -> bool:
    gitignore = root / ".gitignore"
    patterns = gitignore.read_text(encoding="utf-8").split() if gitignore.exists() else []
    return any(fnmatch.fnmatch(relative, p.rstrip("/")) or relative.startswith(p.rstrip("/") + "/") for p in patterns)


def reference_problems(path: Path, root: Path) -> list[str]:
    """Repository paths (with optional ``::test_name``) and dotted provider names in inline code exist."""
    problems = []
    for code in inline_code(prose(path)):
        if REPO_PATH.match(code):
            problems.extend(_path_problem(root, code))
        elif DOTTED.match(code) and not _dotted_exists(code):
            problems.append(f"`{code}` does not exist")
    return problems


def _path_problem(root: Path, code: str) -> list[str]:
    relative, _, test = code.partition("::")
    if ignored_by_git(root, relative.rstrip("/")):
        return []
    matches = [p for p in root.glob(relative.rstrip("/"))] if "*" in relative else [root / relative]
    matches = [p for p in matches if p.exists()]
    if not matches:
        return [f"`{code}`: {relative} does not exist"]
    if test:
        pattern = re.compile(r"^\s*(?:async\s+)?def\s+(" + fnmatch.translate(test).replace(r"\Z", "") + r")\(", re.M)
        if not any(p.is_file() and pattern.search(p.read_text(encoding="utf-8")) for p in matches):
            return [f"`{code}`: no test named {test} in {relative}"]
    return []


def _dotted_exists(dotted: str) -> bool:
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            value: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:]:
            if not hasattr(value, attr):
                return False
            value = getattr(value, attr)
        return True
    return False
