"""The protocol between a Python solution process and its tests (see sandbox/pyrun.py).

The two processes exchange pickles over two pipes. A value of a type that both sides know
exactly (builtin scalars and containers, Decimal, Fraction, range, deque, OrderedDict,
Counter, defaultdict, datetime types, dict views, namedtuples, exceptions, numpy arrays and
scalars) travels by value, with its type; anything else (a function, a generator, an
instance of a class of the program) stays where it is and the other side gets a reference,
a `Remote`, which forwards calls, attribute access, indexing, iteration, truth, hashing and
arithmetic to its owner. References go both ways: the tests may give the solution a lambda,
a generator or an object of their own, and the solution calls back into them.

The solution is hostile, so the tests' side
- unpickles with an allow-list of classes (`_GLOBALS`, `_LAZY`, numpy's): a pickle from the
  solution can only build values of those types and references; no name from the solution
  imports a module (but numpy and the stdlib modules of `_LAZY`) or calls anything else in
  the tests' process; where it names an object the tests lent, the unpickler sees an inert
  marker (`_Lent`): no state, item or call can be applied to the tests' object through it;
- lets the solution do only a few things with the references it was given (`_PEER_OPS`): call
  them, iterate them, index them, and read public attributes of objects of the tests' own
  classes; never reach a function's globals, a frame, a module (the tests lend none);
- never hands one of its values to the solution as an operand of a comparison or of
  arithmetic: `==` between a reference and a value is identity (or the plain value an
  int/str enum member stands for), and so is ordering or `-`, so an object whose `__eq__` is
  always true, or whose `__sub__` and `__abs__` give 0, does not pass `f(x) == y` or
  `abs(f(x) - y) < 1e-6`. Between two of the solution's own objects the answer is the
  solution's, as in one process;
- lets the solution refresh only the global names the tests got from it.

What the solution does to the arguments of a call (a list sorted in place, a dict filled)
is done to the tests' own containers, with identity and nesting kept; module globals the
solution rebinds or may have mutated are fetched again when the tests next read them. The
solution's death, exit or KeyboardInterrupt is sticky: the tests' bare `except:` may catch
it, but the verdict is the failure it stands for.
"""

from __future__ import annotations

import builtins
import collections
import importlib
import io
import opcode
import operator
import os
import pickle
import struct
import sys
import types

MAX_MESSAGE = 256 * 1024 * 1024  # bytes of one message between the two processes
BATCH = 256  # items of the solution's iterator fetched at most per round trip

_SCALARS = frozenset({type(None), bool, int, float, str, bytes})
# Exact types that travel by value; those that may change under the holder's feet are
# VOLATILE (written back after a call, fetched again as globals).
VOLATILE = frozenset({list, dict, set, bytearray, collections.deque, collections.OrderedDict, collections.Counter,
                      collections.defaultdict})
_VALUES = _SCALARS | VOLATILE | {complex, tuple, frozenset, range, slice, type(Ellipsis), type(NotImplemented),
                                 pickle.PickleBuffer}  # numpy's arrays' bytes, pickled as bytes
# More of them, in modules that the zygote does not load (each megabyte it holds slows every
# fork): a value of one exists only where its module is loaded, and the receiver imports it.
_LAZY = frozenset({("decimal", "Decimal"), ("fractions", "Fraction"), ("datetime", "date"),
                   ("datetime", "datetime"), ("datetime", "time"), ("datetime", "timedelta"),
                   ("datetime", "timezone")})
_VIEWS = {type({}.keys()): "keys", type({}.values()): "values", type({}.items()): "items",
          type(collections.OrderedDict().keys()): "keys", type(collections.OrderedDict().values()): "values",
          type(collections.OrderedDict().items()): "items"}
# Base types a program's subclass of them is sent as (a str subclass that equals anything
# arrives as the str it holds); a namedtuple or an enum member is handled before.
_PLAIN = (bool, int, float, complex, str, bytes, bytearray, tuple, collections.OrderedDict, collections.Counter,
          collections.defaultdict, dict, frozenset, set, list, collections.deque)

# What a pickle may name: values of these types are plain data whatever their arguments.
_GLOBALS = {("builtins", t.__name__): t for t in (
    int, float, complex, str, bytes, bytearray, bool, list, tuple, dict, set, frozenset, range, slice, object)}
_GLOBALS.update({("builtins", n): v for n, v in vars(builtins).items()
                 if isinstance(v, type) and issubclass(v, BaseException)})
_GLOBALS.update({("builtins", "Ellipsis"): Ellipsis, ("builtins", "NotImplemented"): NotImplemented})
_GLOBALS.update({("collections", t.__name__): t for t in (
    collections.deque, collections.OrderedDict, collections.Counter, collections.defaultdict)})
_GLOBAL_TYPES = frozenset(v for v in _GLOBALS.values() if isinstance(v, type))
_NUMPY_FUNCTIONS = {("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
                    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.multiarray", "_reconstruct"),
                    ("numpy.core.multiarray", "scalar"), ("numpy.core.numeric", "_frombuffer")}


def _lazy(t: type) -> bool:
    """Whether t is one of the _LAZY value types."""
    module, name = getattr(t, "__module__", None), getattr(t, "__name__", None)
    return (module, name) in _LAZY and getattr(sys.modules.get(module), name, None) is t


def _global(module: str, name: str):
    if (module, name) in _GLOBALS:
        return _GLOBALS[module, name]
    if (module, name) in _LAZY:
        return getattr(importlib.import_module(module), name)
    if (module, name) in _NUMPY_FUNCTIONS or module == "numpy":
        # Only when the other side sent a numpy value: then numpy is installed, and the one
        # module imported here is numpy (with the module the name is in).
        np = importlib.import_module("numpy")
        value = getattr(importlib.import_module(module), name, None)
        if (module, name) in _NUMPY_FUNCTIONS or value is np.ndarray or value is np.dtype or (
                isinstance(value, type) and issubclass(value, np.generic)):
            return value
    raise pickle.UnpicklingError(f"{module}.{name} is not a value type")


def _is_numpy(obj) -> bool:
    np = sys.modules.get("numpy")
    if np is None:
        return False
    t = type(obj)
    return (t is np.ndarray or isinstance(obj, np.dtype) or isinstance(obj, np.generic) and t.__module__ == "numpy"
            or obj is np.ndarray or obj is np.dtype
            or isinstance(obj, type) and issubclass(obj, np.generic) and obj.__module__ == "numpy"
            or t in (types.FunctionType, types.BuiltinFunctionType)
            and (getattr(obj, "__module__", None), obj.__name__) in _NUMPY_FUNCTIONS)


def _volatile(t: type) -> bool:
    """Whether a value of this type may change in place under the holder's feet."""
    return t in VOLATILE or t.__name__ == "ndarray" and t.__module__ == "numpy"


def _plain(v):
    """The value of a base type that an object of a subclass of it stands for, else None."""
    for base in _PLAIN:
        if isinstance(v, base):
            if base is str:
                return str.__str__(v)
            if base is collections.defaultdict:
                return collections.defaultdict(v.default_factory, v)
            return base(v)
    for module, name in (("decimal", "Decimal"), ("fractions", "Fraction")):
        base = getattr(sys.modules.get(module), name, None)
        if base is not None and isinstance(v, base):
            return base(v)
    numbers = sys.modules.get("numbers")  # a number type registers there
    if numbers is not None and isinstance(v, numbers.Integral):
        return int(v)
    if numbers is not None and isinstance(v, numbers.Real):
        return float(v)
    return None


# -- wire ----------------------------------------------------------------------------------

class ProtocolError(Exception):
    """A malformed or forbidden message."""


def _read_exact(fd: int, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


class _Pickler(pickle.Pickler):
    def __init__(self, file, peer: "Peer") -> None:
        super().__init__(file, 5)
        self.peer, self.buffer = peer, file

    def persistent_id(self, obj):
        return None if type(obj) in _SCALARS else self.peer._pid(obj)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, peer: "Peer") -> None:
        super().__init__(file)
        self.peer = peer

    def find_class(self, module, name):
        return _global(module, name)

    def persistent_load(self, pid):
        return self.peer._load(pid)


# -- the two sides -------------------------------------------------------------------------

class Peer:
    """One end of the protocol: the objects it lent the other side, the references it holds
    to the other side's, and the request loop (a request may be answered by requests the
    other way: a callback)."""

    def __init__(self, rfd: int, wfd: int, *, guard: bool) -> None:
        self.rfd, self.wfd = rfd, wfd
        self.guard = guard  # the other side is the solution: limit what it may do here
        self.lent: list = []
        self.index: dict[int, int] = {}
        self.remotes: dict[int, Remote] = {}
        self.standins: dict[int, type] = {}
        self.pending: dict[int, BaseException] = {}  # raised by an iterator after a batch
        # The mutable containers among the arguments of the calls in progress (requests), and
        # of the call whose reply is being sent (serving): the reply carries them back, so
        # that what the call did to them is done to the caller's own.
        self.originals: list[list] = []
        self.sending: dict[int, int] | None = None
        self.namespace: dict | None = None  # the solution's globals (solution side)
        self.seen: dict = {}  # what the tests last got of each global (solution side)
        self.on_dirty = None  # (tests side) called with the globals to fetch again
        self._pickler: _Pickler | None = None
        self.marked = False  # (tests side) the message being read names objects of the tests

    def close(self) -> None:
        """Drop what this side holds of the exchange: the objects lent, the references and the
        pickler, which point back at the peer (a cycle the collector would free late)."""
        for held in (self.lent, self.index, self.remotes, self.standins, self.pending):
            held.clear()
        self._pickler = self.on_dirty = None

    # -- encoding --------------------------------------------------------------------------
    def lend(self, obj) -> int:
        n = self.index.get(id(obj))
        if n is None:
            self.lent.append(obj)
            n = self.index[id(obj)] = len(self.lent) - 1
        return n

    def _pid(self, obj):
        t = type(obj)
        if t in _REMOTES and obj._peer is self:
            return ("mine", obj._id)
        if self.sending and id(obj) in self.sending:
            k = self.sending.pop(id(obj))  # its contents once: it may contain itself
            return ("orig", k, _contents(obj))
        if t in _VALUES or _lazy(t):
            return None
        if t is types.ModuleType:
            # The tests lend no module (its attributes could be set by a pickle's BUILD): the
            # solution gets its own of that name.
            return ("mod", str(obj.__name__), -1 if self.guard else self.lend(obj))
        if isinstance(obj, type):
            home = obj.__dict__.get("_soda_home")
            if type(home) in _REMOTES and home._peer is self:
                return ("mine", home._id)
            if obj in _GLOBAL_TYPES or _lazy(obj):
                return None
            if issubclass(obj, BaseException):
                base = next(b for b in obj.__bases__ if issubclass(b, BaseException))
                return ("exc", self.lend(obj), obj.__name__, base)
        if t in _VIEWS:
            kind = _VIEWS[t]
            return ("view", kind, list(obj) if kind != "items" else [tuple(kv) for kv in obj])
        if isinstance(obj, BaseException):
            return None
        if isinstance(obj, tuple) and isinstance(getattr(t, "_fields", None), tuple):
            home = t.__dict__.get("_soda_home")
            return ("nt", home if home is not None else t, t.__name__, t._fields, tuple(obj))
        if _is_numpy(obj):
            return None
        if t is types.FunctionType:  # the usual name of a solution: none of the probes below
            return ("r", self.lend(obj), "c")
        if hasattr(t, "__next__"):
            return ("r", self.lend(obj), "i")
        enum = sys.modules.get("enum")
        if not (enum and isinstance(obj, enum.Enum)) and not callable(obj):
            plain = _plain(obj)
            if plain is not None:
                return ("v", plain)
        flags = "c" if callable(obj) else ""
        if enum and isinstance(obj, enum.Enum) and _plain(obj) is not None:
            flags += "v"
        return ("r", self.lend(obj), flags)

    def _load(self, pid):
        if type(pid) is not tuple or not pid:
            raise ProtocolError("malformed reference")
        kind = pid[0]
        if kind == "mine" and len(pid) == 2 and type(pid[1]) is int and 0 <= pid[1] < len(self.lent):
            if self.guard:
                self.marked = True
                return _Lent(pid[1])
            return self.lent[pid[1]]
        if kind == "r" and len(pid) == 3 and type(pid[1]) is int and type(pid[2]) is str:
            remote = self.remotes.get(pid[1])
            if remote is None:
                cls = RemoteIter if "i" in pid[2] else RemoteFn if "c" in pid[2] else Remote
                remote = self.remotes[pid[1]] = cls(self, pid[1], "v" in pid[2])
            return remote
        if kind == "orig" and len(pid) == 3 and self.originals and type(pid[1]) is int \
                and 0 <= pid[1] < len(self.originals[-1]):
            return _refill(self.originals[-1][pid[1]], pid[2])
        if kind == "v" and len(pid) == 2 and (type(pid[1]) in _VALUES or _lazy(type(pid[1]))):
            return pid[1]
        if kind == "mod" and len(pid) == 3 and type(pid[1]) is str and type(pid[2]) is int:
            # The tests get their own process's module of that name if it is loaded: no
            # name from the solution makes the tests' side import anything.
            module = sys.modules.get(pid[1])
            if module is None and pid[2] < 0 and not self.guard:
                module = importlib.import_module(pid[1])
            return module if module is not None else self._load(("r", pid[2], ""))
        if kind == "view" and len(pid) == 3 and type(pid[2]) is list:
            if pid[1] == "keys":
                return dict.fromkeys(pid[2]).keys()
            if pid[1] == "values":
                return dict(enumerate(pid[2])).values()
            if pid[1] == "items" and all(type(kv) is tuple and len(kv) == 2 for kv in pid[2]):
                return dict(pid[2]).items()
        if kind == "exc" and len(pid) == 4 and type(pid[1]) is int and type(pid[2]) is str and \
                isinstance(pid[3], type) and issubclass(pid[3], BaseException):
            cls = self.standins.get(pid[1])
            if cls is None:
                home = self._load(("r", pid[1], "c"))
                cls = self.standins[pid[1]] = type(pid[2], (pid[3],), {"_soda_home": home, "__module__": "__main__"})
            return cls
        if kind == "nt" and len(pid) == 5 and type(pid[4]) is tuple:
            home, name, fields, values = pid[1:]
            if type(home) is _Lent:
                home = self.lent[home.k]
            if isinstance(home, type):  # one of ours, come back
                return tuple.__new__(home, values)
            if type(home) in _REMOTES and type(fields) is tuple and all(type(f) is str for f in fields) \
                    and type(name) is str:
                cls = self.standins.get(home._id)
                if cls is None:
                    base = collections.namedtuple(name, fields)  # ValueError unless identifiers
                    cls = self.standins[home._id] = type(name, (base,), {"__slots__": (), "_soda_home": home,
                                                                        "__module__": "__main__"})
                if len(values) == len(cls._fields):
                    return tuple.__new__(cls, values)
        raise ProtocolError(f"malformed reference {kind!r}")

    # -- messages --------------------------------------------------------------------------
    def send(self, msg) -> None:
        # One pickler for the peer, a fresh one if a program's code sends while it pickles.
        pickler, self._pickler = self._pickler, None
        if pickler is None:
            pickler = _Pickler(io.BytesIO(), self)
        buf = pickler.buffer
        try:
            buf.seek(0)
            buf.truncate()
            buf.write(b"\0\0\0\0")
            pickler.clear_memo()
            pickler.dump(msg)
        finally:
            self._pickler = pickler
        data = buf.getbuffer()
        try:
            struct.pack_into(">I", data, 0, len(data) - 4)
            view = memoryview(data)
            while view:
                view = view[os.write(self.wfd, view):]
        finally:
            data.release()

    def recv(self):
        """The next message; None at the end of the pipe; ProtocolError if it is malformed."""
        head = _read_exact(self.rfd, 4)
        if head is None:
            return None
        size = struct.unpack(">I", head)[0]
        if size > MAX_MESSAGE:
            raise ProtocolError(f"message of {size} bytes")
        body = _read_exact(self.rfd, size)
        if body is None:
            return None
        self.marked = False
        try:
            msg = _Unpickler(io.BytesIO(body), self).load()
            if self.marked:
                msg = _unmark(msg, self.lent, set())
        except ProtocolError:
            raise
        except Exception as e:  # noqa: BLE001 - anything a crafted pickle makes the unpickler raise
            raise ProtocolError(f"malformed message: {type(e).__name__}") from None
        if type(msg) is not tuple or not msg:
            raise ProtocolError("malformed message")
        return msg

    def request(self, op: str, args: tuple, kwargs: dict | None = None):
        """Apply `op` to the other side's objects (args[0] is one); serve its callbacks meanwhile."""
        flush()
        kwargs = kwargs or {}
        self.send(("q", op, args, kwargs))
        self.originals.append(_containers((args[1:], *kwargs.values())) if op == "call" else [])
        try:
            while True:
                msg = self._recv_reply()
                if msg[0] == "q":
                    self.serve(msg)
                    continue
                if msg[0] not in ("v", "x") or len(msg) != 4 or type(msg[3]) is not list:
                    raise ProtocolError("malformed reply")
                if msg[3] and self.on_dirty is not None:
                    self.on_dirty(msg[3])
                if msg[0] == "x":
                    raise self._raised(msg[1], msg[2])
                return msg[1]
        finally:
            self.originals.pop()

    def _recv_reply(self):
        msg = self.recv()
        if msg is None:
            raise EOFError
        return msg

    def _raised(self, e, text) -> BaseException:
        if type(text) is tuple:
            text = text[0]
        if not isinstance(e, BaseException):
            return ProtocolError("malformed exception")
        if type(text) is str and self.guard:
            e.solution_traceback = text
        return e

    def serve(self, msg) -> None:
        """Answer one request of the other side."""
        originals = []
        try:
            if len(msg) != 4 or msg[1] not in _OPS or type(msg[2]) is not tuple or not msg[2] \
                    or type(msg[3]) is not dict:
                raise ProtocolError("malformed request")
            _, op, args, kwargs = msg
            if self.guard:
                self._check(op, args, kwargs)
            originals = _containers((args[1:], *kwargs.values())) if op == "call" else []
            if op == "next":
                # One item at a time where running ahead could be seen: the tests' iterators,
                # and the solution's when its globals may change as it runs.
                value = self._next(args[0], 1 if self.guard or self.namespace is not None else args[1])
            elif op == "global":
                value = self.namespace[args[0]]
            else:
                value = _OPS[op](*args, **kwargs)
            reply = ("v", value, originals, self._dirty())
        except BaseException as e:  # noqa: BLE001 - raised on the other side
            reply = ("x", e, _traceback_text(e), self._dirty())
            if originals:  # what the call did to its arguments before it raised
                reply = ("x", e, (reply[2], originals), reply[3])
        flush()
        try:
            self.sending = {id(o): k for k, o in enumerate(originals)}
            self.send(reply)
        except Exception as e:  # noqa: BLE001 - a value that can't be sent is an error there
            self.sending = None
            self.send(("x", TypeError(f"{type(e).__name__}: {e}"[:2000]), None, []))
        finally:
            self.sending = None

    def _check(self, op: str, args: tuple, kwargs: dict) -> None:
        """What the solution may do with the tests' objects."""
        target = args[0]
        if op not in _PEER_OPS or type(target) in _REMOTES or (kwargs and op != "call") or (
                op == "eq" and type(args[1]) in _REMOTES):
            raise PermissionError(f"the tests' objects do not allow {op!r}")
        if op == "getattr" and not (len(args) == 2 and type(args[1]) is str and not args[1].startswith("_")
                                    and getattr(type(target), "__module__", None) == "__main__"
                                    and not isinstance(target, type)):
            raise PermissionError("only public attributes of instances of the tests' classes can be read")

    def _next(self, it, n: int) -> tuple[list, bool]:
        """Up to n items of an iterator, and whether it ended; an exception it raises after
        the first item is raised at the next request, where it belongs."""
        if id(it) in self.pending:
            raise self.pending.pop(id(it))
        items = []
        for _ in range(max(1, min(int(n), BATCH))):
            try:
                items.append(next(it))
            except StopIteration:
                return items, True
            except BaseException as e:
                if not items:
                    raise
                self.pending[id(it)] = e
                break
        return items, False

    def _dirty(self) -> list:
        """(solution side) Globals rebound, created or possibly mutated since the tests got them."""
        if self.namespace is None:
            return []
        dirty = [k for k, v in self.namespace.items()
                 if (self.seen.get(k, _MISSING) is not v or _volatile(type(v))) and not k.startswith("__")]
        self.seen = dict(self.namespace)
        return dirty


_MISSING = object()
_REBINDING = frozenset(opcode.opmap[name] for name in ("STORE_GLOBAL", "DELETE_GLOBAL"))


def _rebinds(code: types.CodeType) -> bool:
    """Whether code of the solution may rebind its module's globals once it has run: a
    `global` statement in a function, or a use of globals()/vars()/a module's __dict__."""
    if {"globals", "vars", "__dict__", "modules", "setattr"} & set(code.co_names):
        return True
    opcodes = code.co_code[::2]  # (2-byte units: opcode, argument)
    if any(op in opcodes for op in _REBINDING):
        return True
    return any(isinstance(c, types.CodeType) and _rebinds(c) for c in code.co_consts)


def _traceback_text(e: BaseException) -> str:
    from sandbox import pyrun  # noqa: PLC0415 - pyrun imports this module

    return pyrun._traceback_text(e)[-20000:]


def flush() -> None:
    """Flush the process's stdout and stderr (before a message: output keeps its order)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - a closed or full stdout must not hide the verdict
        pass


class _Lent:
    """(tests side) One of the tests' objects, where a pickle from the solution names it: inert
    while the pickle is built (no state, attribute, item or call can be applied to the
    object through it, as BUILD, APPENDS or REDUCE would), then replaced by the object."""

    __slots__ = ("k",)

    def __init__(self, k: int) -> None:
        object.__setattr__(self, "k", k)

    def __setattr__(self, name, value):
        raise ProtocolError("a pickle may not change the tests' objects")

    __setstate__ = __setattr__


def _unmark(v, lent: list, seen: set):
    """v with the _Lent in it replaced by the tests' objects (in the containers a value can
    be made of; elsewhere they stay inert)."""
    t = type(v)
    if t is _Lent:
        return lent[v.k]
    if t in _SCALARS or id(v) in seen:
        return v
    seen.add(id(v))
    if isinstance(v, tuple):
        items = [_unmark(x, lent, seen) for x in v]
        return v if all(a is b for a, b in zip(items, v)) else tuple.__new__(t, items)
    if t is list or t is collections.deque:
        items = [_unmark(x, lent, seen) for x in v]
        v.clear()
        v.extend(items)
    elif t is set or t is frozenset:
        items = [_unmark(x, lent, seen) for x in v]
        if t is frozenset:
            return frozenset(items)
        v.clear()
        v.update(items)
    elif isinstance(v, dict) and t in VOLATILE:
        items = [(_unmark(k, lent, seen), _unmark(x, lent, seen)) for k, x in v.items()]
        v.clear()
        for k, x in items:
            v[k] = x
    elif isinstance(v, BaseException):
        v.args = _unmark(v.args, lent, seen)
    return v


def _containers(values) -> list:
    """The mutable containers in `values`, depth first: the same order on both sides."""
    found, seen, stack = [], set(), [values]
    while stack:
        v = stack.pop()
        t = type(v)
        if (isinstance(v, tuple) or _volatile(t)) and id(v) not in seen:
            seen.add(id(v))
            if _volatile(t):
                found.append(v)
                if t is set or t not in VOLATILE:  # a set holds nothing mutable; an array is a leaf
                    continue
            items = v.values() if isinstance(v, dict) else v
            stack.extend([x for x in items if type(x) not in _SCALARS])
    return found


def _contents(obj):
    t = type(obj)
    if t is bytearray:
        return bytes(obj)
    if isinstance(obj, dict):
        return list(obj.items())
    return list(obj) if t in VOLATILE else obj.copy()


def _refill(obj, contents):
    """The caller's container `obj`, made what the call left it."""
    t = type(obj)
    if t is bytearray and type(contents) is bytes or t is list and type(contents) is list:
        obj[:] = contents
    elif (t is set or t is collections.deque) and type(contents) is list:
        obj.clear()
        (obj.update if t is set else obj.extend)(contents)
    elif isinstance(obj, dict) and type(contents) is list and all(type(kv) is tuple and len(kv) == 2
                                                                  for kv in contents):
        obj.clear()
        for k, v in contents:
            obj[k] = v
    elif t not in VOLATILE and type(contents) is t and contents.shape == obj.shape and contents.dtype == obj.dtype:
        obj[...] = contents
    else:
        raise ProtocolError("malformed argument")
    return obj


# -- references ----------------------------------------------------------------------------

class Remote:
    """A reference to an object of the other side: what is done to it is done there."""

    __slots__ = ("_peer", "_id", "_plain_eq")

    def __init__(self, peer: Peer, ref: int, plain_eq: bool) -> None:
        object.__setattr__(self, "_peer", peer)
        object.__setattr__(self, "_id", ref)
        object.__setattr__(self, "_plain_eq", plain_eq)

    def _do(self, op: str, *args):
        return self._peer.request(op, (self, *args))

    def __getattr__(self, name: str):
        return self._do("getattr", name)

    def __setattr__(self, name: str, value) -> None:
        self._do("setattr", name, value)

    def __delattr__(self, name: str) -> None:
        self._do("delattr", name)

    def __eq__(self, other):
        # Never the other side's answer about one of this side's values (an object that
        # equals everything); about two of its own objects, its answer.
        if other is self:
            return True
        if type(other) in _REMOTES and other._peer is self._peer:
            return self._do("eq", other)
        if self._plain_eq:
            return self._do("plain") == other
        return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __instancecheck__(self, obj) -> bool:
        return self._peer.request("isinstance", (obj, self))

    def __subclasscheck__(self, cls) -> bool:
        return self._peer.request("issubclass", (cls, self))

    def __iter__(self):
        return self._do("iter")

    def __format__(self, spec: str) -> str:
        return self._do("format", spec)


class RemoteFn(Remote):
    __slots__ = ()

    def __call__(self, *args, **kwargs):
        return self._peer.request("call", (self, *args), kwargs)


class RemoteIter(Remote):
    """The other side's iterator, fetched in batches that grow (the solution's generator may
    run ahead of the tests; a generator of the tests is always asked for one item)."""

    __slots__ = ("_buffer", "_batch", "_ended")

    def __init__(self, peer: Peer, ref: int, plain_eq: bool) -> None:
        super().__init__(peer, ref, plain_eq)
        for name, value in (("_buffer", collections.deque()), ("_batch", 1), ("_ended", False)):
            object.__setattr__(self, name, value)

    def __iter__(self):
        return self

    def __next__(self):
        buffer = self._buffer
        if not buffer:
            if self._ended:
                raise StopIteration
            items, ended = self._do("next", self._batch)
            object.__setattr__(self, "_batch", min(self._batch * 2, BATCH))
            object.__setattr__(self, "_ended", bool(ended))
            buffer.extend(items)
            if not buffer:
                raise StopIteration
        return buffer.popleft()


def _unary(op):
    return lambda self: self._do(op)


# Arithmetic and ordering go to the other side only between two of its objects: a value of
# this side never reaches it as an operand (`abs(f(x) - expected) < 1e-6` must not hand the
# solution the expected value); an int or str enum member computes as the value it stands for.
def _binary(op):
    def method(self, other):
        if type(other) in _REMOTES and other._peer is self._peer:
            return self._do(op, other)
        return _OPS[op](self._do("plain"), other) if self._plain_eq else NotImplemented
    return method


def _reflected(op):
    def method(self, other):
        if type(other) in _REMOTES and other._peer is self._peer:
            return self._peer.request(op, (other, self))
        return _OPS[op](other, self._do("plain")) if self._plain_eq else NotImplemented
    return method


_OPS = {"call": lambda f, *a, **k: f(*a, **k), "getattr": getattr, "setattr": setattr, "delattr": delattr,
        "getitem": operator.getitem, "setitem": operator.setitem, "delitem": operator.delitem,
        "contains": lambda obj, item: item in obj, "iter": iter, "next": None, "global": None,
        "eq": operator.eq, "plain": _plain, "isinstance": isinstance, "issubclass": issubclass,
        "format": format, "round": round}
for _name in ("len", "bool", "hash", "repr", "str", "int", "float", "complex", "abs"):
    _OPS[_name] = getattr(builtins, _name)
    setattr(Remote, f"__{_name}__", _unary(_name))
for _name in ("neg", "pos", "invert", "index"):
    _OPS[_name] = getattr(operator, _name)
    setattr(Remote, f"__{_name}__", _unary(_name))
for _name in ("getitem", "setitem", "delitem", "contains", "round"):
    setattr(Remote, f"__{_name}__", lambda self, *a, _op=_name: self._do(_op, *a))
for _name in ("lt", "le", "gt", "ge"):
    _OPS[_name] = getattr(operator, _name)
    setattr(Remote, f"__{_name}__", _binary(_name))
for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "divmod", "pow", "matmul", "lshift", "rshift",
              "and", "or", "xor"):
    _OPS[_name] = divmod if _name == "divmod" else getattr(operator, _name if _name not in ("and", "or") else _name + "_")
    setattr(Remote, f"__{_name}__", _binary(_name))
    setattr(Remote, f"__r{_name}__", _reflected(_name))
Remote.__hash__ = _unary("hash")  # __eq__ set above would make it None
_REMOTES = frozenset({Remote, RemoteFn, RemoteIter})
# What the solution may ask of the tests' objects (see Peer._check).
_PEER_OPS = frozenset({"call", "next", "eq", "iter", "len", "getitem", "contains", "bool", "hash", "repr", "str", "lt",
                       "le", "gt", "ge", "getattr", "format", "plain"})


# -- the solution's process ----------------------------------------------------------------

def serve(code: str, namespace: dict, requests: int, replies: int) -> None:
    """Execute the solution, send its names, then answer the tests' requests until they end."""
    peer = Peer(requests, replies, guard=False)
    try:
        module = compile(code, "<solution>", "exec")
        exec(module, namespace)
        names = {k: v for k, v in namespace.items() if not k.startswith("__")}
        static = not any(_volatile(type(v)) for v in names.values()) and not _rebinds(module)
        if not static:
            peer.namespace, peer.seen = namespace, dict(namespace)
        msg = ("names", names, static)
    except BaseException as e:  # noqa: BLE001 - the tests' side turns it into the verdict
        msg = ("x", e, _traceback_text(e), [])
    flush()
    try:
        peer.send(msg)
    except Exception as e:  # noqa: BLE001
        peer.send(("x", TypeError(f"{type(e).__name__}: {e}"[:2000]), None, []))
    if msg[0] == "x":
        return
    while True:
        try:
            msg = peer.recv()
        except ProtocolError:
            return
        if msg is None:
            return
        peer.serve(msg)


# -- the tests' side -----------------------------------------------------------------------

class SolutionEnded(BaseException):
    """The solution process ended (exit, signal) or broke the protocol while the tests ran."""


class SolutionExit(BaseException):
    """The solution raised SystemExit inside a function the tests called."""


class _Names(dict):
    """The tests' globals: a name of the solution that it rebound or may have changed since
    is fetched again when the tests read it, unless the tests bound it themselves: the
    solution can't replace the tests' own names (their helpers, their expected values)."""

    __slots__ = ("_solution", "_stale", "_given")

    def __contains__(self, name) -> bool:
        if dict.__contains__(self, name):
            return True
        try:
            self.__missing__(name)
        except KeyError:
            return False
        return True

    def __missing__(self, name):
        if name not in self._stale:
            raise KeyError(name)
        self._stale.discard(name)
        value = self._given[name] = self._solution.fetch(name)
        self[name] = value
        return value

    def invalidate(self, name: str) -> None:
        if dict.get(self, name, _MISSING) is self._given.get(name, self._stale) or not dict.__contains__(self, name):
            self.pop(name, None)
            self._stale.add(name)


class Solution(Peer):
    """The solution process, seen from the tests; `ended` is why it can no longer answer."""

    def __init__(self, requests: int, replies: int) -> None:
        super().__init__(replies, requests, guard=True)
        self.ended: BaseException | None = None
        self.names: _Names | None = None
        self.on_dirty = self._invalidate

    def tests_globals(self) -> dict:
        """The tests' globals, with the solution's names; raises what the solution raised."""
        msg = self._call(self._recv_reply)
        if msg[0] == "x" and len(msg) == 4:
            raise self._raised(msg[1], msg[2])
        if msg[0] != "names" or len(msg) != 3 or type(msg[1]) is not dict:
            self._end(SolutionEnded("the solution process broke the tests' protocol"))
        names = {"__name__": "__main__", "__builtins__": builtins}
        if not msg[2]:  # globals that may change: a dict whose lookups can miss (slower)
            names = self.names = _Names(names)
            names._solution, names._stale, names._given = self, set(), dict(msg[1])
        names.update(msg[1])
        return names

    def fetch(self, name: str):
        return self.request("global", (name,))

    def close(self) -> None:
        super().close()
        if self.names is not None:
            self.names._solution = None
        self.names = None

    def _invalidate(self, dirty: list) -> None:
        if self.names is not None:
            for name in dirty:
                if type(name) is str:
                    self.names.invalidate(name)

    def request(self, op: str, args: tuple, kwargs: dict | None = None):
        return self._call(lambda: super(Solution, self).request(op, args, kwargs))

    def _call(self, fn):
        if self.ended is not None:
            raise self.ended
        try:
            return fn()
        except (EOFError, BrokenPipeError):
            self._end(SolutionEnded(None))
        except ProtocolError:
            self._end(SolutionEnded("the solution process broke the tests' protocol"))

    def _raised(self, e, text) -> BaseException:
        e = super()._raised(e, text)
        if isinstance(e, SystemExit):
            self._end(SolutionExit(e.code if isinstance(e.code, (int, str, type(None))) else None))
        if isinstance(e, KeyboardInterrupt):
            self._end(e)  # as if the process had died of it
        return e

    def _end(self, e: BaseException):
        self.ended = e
        raise e
