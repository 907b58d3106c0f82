"""Inject exactly one fault of a given type into a reference solution.

Every candidate is a small textual edit of the reference (one node or one line), so a
faulty solution differs from the correct one only where the fault is: that difference is
what fault-aware contrastive learning (DPO) teaches. Candidates are not all guaranteed to
fail (a swapped `>` may agree with `>=` on every test); the teacher verifies them by
execution and falls back on the next one.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import random

FAULT_TYPES = ("syntax", "logical", "type", "name", "timeout")

# The error each fault type must produce when the faulty code runs with the tests.
EXPECTED = {
    "syntax": ("fail", ("SyntaxError", "IndentationError", "TabError")),
    "name": ("fail", ("NameError",)),
    "type": ("fail", ("TypeError",)),
    "logical": ("fail", ("AssertionError",)),
    "timeout": ("timeout", None),
}


def verified(fault_type: str, result) -> bool:
    """Did a sandbox Result fail the way `fault_type` says it should?"""
    status, classes = EXPECTED[fault_type]
    return result.status == status and (classes is None or result.error_class in classes)


def _offsets(code: str) -> list[int]:
    starts, pos = [], 0
    for line in code.splitlines(keepends=True):
        starts.append(pos)
        pos += len(line)
    return starts


def _replace(code: str, node: ast.AST, new: str) -> str:
    starts = _offsets(code)
    a = starts[node.lineno - 1] + node.col_offset
    b = starts[node.end_lineno - 1] + node.end_col_offset
    return code[:a] + new + code[b:]


def _segment(code: str, node: ast.AST) -> str:
    return ast.get_source_segment(code, node)


def _docstring(tree: ast.Module) -> ast.AST | None:
    fn = tree.body[0]
    first = fn.body[0] if isinstance(fn, ast.FunctionDef) and fn.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.value
    return None


def _nodes(tree: ast.Module):
    doc = _docstring(tree)
    return [n for n in ast.walk(tree) if n is not doc and hasattr(n, "lineno")]


def _body_indent(code: str, tree: ast.Module) -> tuple[int, str]:
    """Line index (0-based) after the docstring, and the body's indentation."""
    fn = tree.body[0]
    first = fn.body[1] if _docstring(tree) is not None and len(fn.body) > 1 else fn.body[0]
    line = code.splitlines()[first.lineno - 1]
    return first.lineno - 1, line[: len(line) - len(line.lstrip())]


# --- syntax: the code no longer parses ------------------------------------------------

def _syntax(code: str, tree: ast.Module) -> list[str]:
    lines = code.splitlines()
    out = []
    for i, line in enumerate(lines):
        stripped = line.rstrip()
        edits = []
        if stripped.endswith(":"):
            edits.append(stripped[:-1])                                  # missing colon
        if ")" in stripped:
            j = stripped.rindex(")")
            edits.append(stripped[:j] + stripped[j + 1:])                # unbalanced parenthesis
        if " == " in stripped:
            edits.append(stripped.replace(" == ", " = ", 1))            # assignment for comparison
        body = stripped.lstrip()
        # Misspelled keyword; only before a name, number or string ("retrun (x)" would parse as a call).
        if body.startswith("return ") and (body[7:8].isalnum() or body[7:8] in "\"'"):
            edits.append(stripped.replace("return ", "retrun ", 1))
        for edit in edits:
            out.append("\n".join(lines[:i] + [edit] + lines[i + 1:]) + "\n")
    return out


# --- name: an undefined name is used at run time ----------------------------------------

def _typos(name: str) -> list[str]:
    cands = [name + "s", name[:-1], name + name[-1], name[::-1] if len(name) > 2 else name + "1"]
    if len(name) > 3:
        cands.append(name[0] + name[2] + name[1] + name[3:])
    return cands


def _name(code: str, tree: ast.Module) -> list[str]:
    defined = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
    defined |= set(dir(builtins)) | {tree.body[0].name}
    out = []
    for node in _nodes(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            typos = [t for t in _typos(node.id) if t.isidentifier() and not keyword.iskeyword(t) and t not in defined]
            out += [_replace(code, node, t) for t in typos[:2]]
    return out


# --- type: an operation gets a value of the wrong type ----------------------------------

ITERATING = {"max", "min", "sum", "sorted", "set", "all", "any", "enumerate", "reversed"}


def _type(code: str, tree: ast.Module) -> list[str]:
    out = []
    for node in _nodes(tree):
        if isinstance(node, ast.Constant) and type(node.value) is int:
            out.append(_replace(code, node, repr(str(node.value))))          # "7" where 7 is needed
        if isinstance(node, (ast.BinOp, ast.Compare)):
            for side in [node.left, *(node.comparators if isinstance(node, ast.Compare) else [node.right])]:
                if isinstance(side, (ast.Name, ast.Call)):
                    out.append(_replace(code, side, f"str({_segment(code, side)})"))
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Name):
            out.append(_replace(code, node.slice, f"str({node.slice.id})"))  # a string index
        if isinstance(node, ast.keyword) and isinstance(node.value, ast.Constant) and node.value.value is not None:
            out.append(_replace(code, node.value, repr(str(node.value.value))))
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and not node.args and not node.keywords:
            out.append(_replace(code, node, f"{_segment(code, node)[:-1]}1)"))  # an argument it does not take
        if node.keywords or not node.args:
            continue
        if isinstance(node.func, ast.Name) and node.func.id == "abs" and isinstance(node.args[0], ast.Name):
            out.append(_replace(code, node.args[0], f"str({node.args[0].id})"))
        if len(node.args) > 1 or isinstance(node.func, ast.Attribute):
            # One argument short: a method (or a builtin taking several) called with the wrong arity.
            head = _segment(code, node.func)
            out.append(_replace(code, node, f"{head}({', '.join(_segment(code, a) for a in node.args[:-1])})"))
        elif isinstance(node.func, ast.Name) and node.func.id in ITERATING and isinstance(node.args[0], ast.Name):
            out.append(_replace(code, node.args[0], f"len({node.args[0].id})"))  # iterating over an int
    return out


# --- logical: runs, but computes the wrong thing ----------------------------------------

CMP_SWAP = {ast.Gt: ">=", ast.GtE: ">", ast.Lt: "<=", ast.LtE: "<", ast.Eq: "!=", ast.NotEq: "==",
            ast.In: "not in", ast.NotIn: "in"}
CMP_FLIP = {ast.Gt: "<", ast.GtE: "<=", ast.Lt: ">", ast.LtE: ">="}
BIN_SWAP = {ast.Add: "-", ast.Sub: "+", ast.Mult: "+", ast.Mod: "//", ast.FloorDiv: "%", ast.Div: "//", ast.Pow: "*"}
FUNC_SWAP = {"max": "min", "min": "max", "all": "any", "any": "all", "sum": "max"}
METHOD_SWAP = {"isdigit": "isalpha", "isalpha": "isdigit", "isupper": "islower", "lower": "upper", "upper": "lower",
               "title": "capitalize", "capitalize": "title", "swapcase": "upper", "strip": "lstrip",
               "startswith": "endswith", "endswith": "startswith", "ljust": "rjust", "rjust": "ljust"}
UNWRAP = {"abs", "sorted", "set", "reversed", "round", "str", "list"}


def _logical(code: str, tree: ast.Module) -> list[str]:
    out = []
    for node in _nodes(tree):
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right = _segment(code, node.left), _segment(code, node.comparators[0])
            for table in (CMP_SWAP, CMP_FLIP):
                if type(node.ops[0]) in table:
                    out.append(_replace(code, node, f"{left} {table[type(node.ops[0])]} {right}"))
        elif isinstance(node, ast.BinOp) and type(node.op) in BIN_SWAP:
            left, right = _segment(code, node.left), _segment(code, node.right)
            out.append(_replace(code, node, f"{left} {BIN_SWAP[type(node.op)]} {right}"))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            out.append(_replace(code, node, repr(node.value + 1)))        # off by one
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            out.append(_replace(code, node, repr(not node.value)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
            out.append(_replace(code, node, repr(node.value.swapcase())))
        elif isinstance(node, ast.Constant) and node.value is None:
            out.append(_replace(code, node, "0"))
        elif isinstance(node, ast.Attribute) and node.attr in METHOD_SWAP:
            out.append(_replace(code, node, f"{_segment(code, node.value)}.{METHOD_SWAP[node.attr]}"))
        elif isinstance(node, ast.BoolOp):
            op = " or " if isinstance(node.op, ast.And) else " and "
            out.append(_replace(code, node, op.join(_segment(code, v) for v in node.values)))
        elif isinstance(node, ast.Name) and node.id in FUNC_SWAP and isinstance(node.ctx, ast.Load):
            out.append(_replace(code, node, FUNC_SWAP[node.id]))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) >= 1:
            if node.func.id in UNWRAP:                                      # a forgotten step
                out.append(_replace(code, node, _segment(code, node.args[0])))
            elif node.func.id == "len":
                out.append(_replace(code, node, _segment(code, node) + " - 1"))
    return out


# --- timeout: a loop that never ends once the function runs ------------------------------

def _timeout(code: str, tree: ast.Module) -> list[str]:
    lines = code.splitlines()
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
    i = next(v for v in ("i", "j", "idx", "pos") if v not in names)
    out = []
    for node in ast.walk(tree):
        indent = " " * getattr(node, "col_offset", 0)
        # A for loop over a sequence rewritten as a while loop that forgets to advance.
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
            seq = _segment(code, node.iter)
            if isinstance(node.iter, ast.Name) or (isinstance(node.iter, ast.Call) and _segment(code, node.iter.func) == "range"):
                new = [f"{indent}{i} = 0", f"{indent}while {i} < len({seq}):", f"{indent}    {node.target.id} = {seq}[{i}]"]
                out.append("\n".join(lines[: node.lineno - 1] + new + lines[node.lineno:]) + "\n")
        # A while loop whose variable is never updated.
        if isinstance(node, ast.While):
            for stmt in node.body:
                if isinstance(stmt, (ast.AugAssign, ast.Assign)) and len(node.body) > 1:
                    out.append("\n".join(lines[: stmt.lineno - 1] + lines[stmt.end_lineno:]) + "\n")
    # Or a loop added at the top that never ends on the tests' inputs: a scan over an
    # argument that forgets to advance (only sequences qualify; execution tells), or a
    # counter that never grows.
    at, indent = _body_indent(code, tree)
    c = next(v for v in ("steps", "tries", "rounds") if v not in names)
    for arg in [a.arg for a in tree.body[0].args.args]:
        new = [f"{indent}{i} = 0", f"{indent}while {i} < len({arg}):", f"{indent}    if {arg}[{i}] is None:",
               f"{indent}        break"]
        out.append("\n".join(lines[:at] + new + lines[at:]) + "\n")
    new = [f"{indent}{c} = 0", f"{indent}while {c} < 100:", f"{indent}    {c} *= 2"]
    out.append("\n".join(lines[:at] + new + lines[at:]) + "\n")
    return out


CANDIDATES = {"syntax": _syntax, "name": _name, "type": _type, "logical": _logical, "timeout": _timeout}


def fault_candidates(code: str, fault_type: str) -> list[str]:
    """Every single-fault edit of `code` of this type (distinct, in a stable order)."""
    if fault_type not in CANDIDATES:
        raise ValueError(f"unknown fault type {fault_type!r}; expected one of {FAULT_TYPES}")
    tree = ast.parse(code)
    seen, out = {code}, []
    for cand in CANDIDATES[fault_type](code, tree):
        if cand not in seen:
            seen.add(cand)
            out.append(cand)
    return out


def inject_fault(task: dict, fault_type: str, rng: random.Random) -> str:
    """The task's reference with one fault of `fault_type`, picked at random among the
    candidate sites (unverified: see ReferenceTeacher.fault for verification)."""
    cands = fault_candidates(task["reference"], fault_type)
    if not cands:
        raise ValueError(f"{task.get('id')}: no place to inject a {fault_type} fault")
    return rng.choice(cands)
