"""Families over integers: arithmetic, divisibility, comparisons, digits, loops."""

from __future__ import annotations

from soda.world.family import Draft, family
from soda.world.text import CMP, INT_ARGS, OP_STEP, OP_VALUE


@family("arith")
def arith(tier, rng):
    fn = rng.choice(["compute", "apply_ops", "calc", "adjust"])
    x = rng.choice(INT_ARGS)
    a, b = rng.randint(2, 12), rng.randint(2, 9)
    op1, op2 = rng.choice("+-*"), rng.choice("+-*")
    main = [(v,) for v in (rng.randint(1, 20), rng.randint(21, 60), rng.randint(-9, -1))]
    edge = [(0,), (1,)]
    if tier == 1:
        value = OP_VALUE[op1].format(x=x, k=a)
        return Draft(fn, [x], {"op": op1, "k": a},
                     [f"return {value}", f"compute {value} and return it",
                      f"take {x} and return the result of {value}"],
                     f"Return {value}.", f"return {x} {op1} {a}", main, edge)
    step = f"first {OP_STEP[op1].format(k=a)}, then {OP_STEP[op2].format(k=b)}"
    params = {"op1": op1, "a": a, "op2": op2, "b": b}
    what = [f"{step} and return the result", f"transform {x} as follows: {step}; return the result"]
    body = f"return ({x} {op1} {a}) {op2} {b}"
    if tier == 2:
        return Draft(fn, [x], params, what, f"Apply two steps to {x}.", body, main, edge)
    t = rng.randint(0, 10)
    rule = [f"if {x} is [less than|smaller than|below] {t}, return {x} unchanged",
            f"values of {x} [less than|smaller than|below] {t} are returned as they are"]
    return Draft(fn, [x], {**params, "t": t}, what, f"Apply two steps to {x} unless it is below {t}.",
                 f"if {x} < {t}:\n    return {x}\n{body}", main + [(t,)], edge + [(t - 1,)], [rule])


@family("divisible")
def divisible(tier, rng):
    fn = rng.choice(["is_divisible", "check_multiple", "divides", "is_multiple"])
    n = rng.choice(INT_ARGS)
    a, b = rng.sample(range(2, 10), 2)
    main = [(a * b,), (a * rng.randint(2, 9),), (b * rng.randint(1, 9),), (a * b + 1,), (a * 7 + 1,)]
    edge = [(0,), (-a,)]
    if tier == 1:
        return Draft(fn, [n], {"k": a},
                     [f"return True if {n} is divisible by {a}, otherwise False",
                      f"check whether {n} is a multiple of {a} (return a bool)",
                      f"tell if {a} divides {n} evenly, returning True or False"],
                     f"Check that {n} is divisible by {a}.", f"return {n} % {a} == 0", main, edge)
    if tier == 2:
        join = rng.choice(["and", "or"])
        word = {"and": "both", "or": "either"}[join]
        return Draft(fn, [n], {"a": a, "b": b, "join": join},
                     [f"return True if {n} is divisible by {word} {a} {join} {b}, else False",
                      f"check whether {n} is a multiple of {word} {a} {join} {b}"],
                     f"Check divisibility of {n} by {a} {join} {b}.",
                     f"return {n} % {a} == 0 {join} {n} % {b} == 0", main, edge)
    return Draft(fn, [n], {"a": a, "b": b},
                 [f"return True if {n} is divisible by {a} but not by {b}",
                  f"check that {n} is a multiple of {a} and not a multiple of {b}"],
                 f"Check that {a} divides {n} but {b} does not.",
                 f"return {n} % {a} == 0 and {n} % {b} != 0", main, edge,
                 [["return False in every other case", "otherwise the answer is False"]])


@family("clamp")
def clamp(tier, rng):
    lo = rng.randint(-5, 5)
    hi = lo + rng.randint(3, 15)
    if tier == 3:
        fn = rng.choice(["clamp_all", "clip_list", "bound_values"])
        xs = rng.choice(["nums", "values", "numbers", "xs"])
        return Draft(fn, [xs], {"lo": lo, "hi": hi},
                     [f"return a new list where every element of {xs} is clamped to the range {lo} to {hi}",
                      f"clip each number in {xs} so it lies between {lo} and {hi} (inclusive) and return the new list"],
                     f"Clamp every element into [{lo}, {hi}].", f"return [min(max(x, {lo}), {hi}) for x in {xs}]",
                     [([lo - 3, lo, hi, hi + 4, lo + 1],), ([rng.randint(lo - 9, hi + 9) for _ in range(5)],)],
                     [([],)],
                     [["values below the range become the lower bound and values above it become the upper bound"]])
    fn = rng.choice(["clamp", "clip", "bound", "limit"])
    x = rng.choice(INT_ARGS)
    main = [(lo - 4,), (lo,), (hi,), (hi + 7,), ((lo + hi) // 2,)]
    edge = [(lo - 1,), (hi + 1,)]
    if tier == 1:
        return Draft(fn, [x], {"lo": lo},
                     [f"return {x}, but never less than {lo}", f"return the larger of {x} and {lo}",
                      f"return {x} raised to {lo} if it is smaller than {lo}"],
                     f"Return {x}, at least {lo}.", f"return max({x}, {lo})", main, edge)
    return Draft(fn, [x], {"lo": lo, "hi": hi},
                 [f"clamp {x} to the range {lo} to {hi} and return it",
                  f"return {x} limited to lie between {lo} and {hi} inclusive"],
                 f"Clamp {x} into [{lo}, {hi}].", f"return min(max({x}, {lo}), {hi})", main, edge)


@family("extreme_of")
def extreme_of(tier, rng):
    big = rng.random() < 0.5
    word = "[largest|biggest|maximum]" if big else "[smallest|minimum|lowest]"
    fn = rng.choice(["bigger", "max_of", "pick_max"] if big else ["smaller", "min_of", "pick_min"])
    names = rng.choice([["a", "b", "c"], ["x", "y", "z"], ["p", "q", "r"]])
    func = "max" if big else "min"
    if tier == 1:
        args = names[:2]
        return Draft(fn, args, {"kind": func},
                     [f"return the {word} of the two numbers {args[0]} and {args[1]}",
                      f"given {args[0]} and {args[1]}, return the {word} one"],
                     f"Return the {func} of two numbers.", f"return {func}({args[0]}, {args[1]})",
                     [(3, 8), (9, -2), (-5, -1)], [(4, 4), (0, 0)])
    main = [(3, 8, 5), (9, -2, 4), (-5, -1, -7), (1, 2, 3)]
    edge = [(4, 4, 4), (0, 0, -1)]
    if tier == 2:
        return Draft(fn, names, {"kind": func},
                     [f"return the {word} of the three numbers {', '.join(names)}",
                      f"given {names[0]}, {names[1]} and {names[2]}, return the {word} one"],
                     f"Return the {func} of three numbers.", f"return {func}({', '.join(names)})", main, edge)
    fn = rng.choice(["middle", "median_of_three", "mid_value", "median3", "centre"])
    return Draft(fn, names, {"kind": "middle"},
                 [f"return the middle value (the median) of {', '.join(names)}",
                  f"given three numbers {names[0]}, {names[1]} and {names[2]}, return the one in the middle when sorted"],
                 "Return the median of three numbers.", f"return sorted([{', '.join(names)}])[1]", main, edge)


@family("label")
def label(tier, rng):
    fn = rng.choice(["classify", "label", "describe", "category"])
    x = rng.choice(INT_ARGS)
    if tier == 1:
        t = rng.randint(0, 50)
        hi, lo = rng.choice([("big", "small"), ("high", "low"), ("yes", "no"), ("over", "under")])
        return Draft(fn, [x], {"t": t, "words": [hi, lo]},
                     [f'return "{hi}" if {x} is {CMP[">"]} {t}, and "{lo}" otherwise',
                      f'label {x}: "{hi}" when it is {CMP[">"]} {t}, else "{lo}"'],
                     f"Label {x} against {t}.", f'if {x} > {t}:\n    return "{hi}"\nreturn "{lo}"',
                     [(t + 5,), (t,), (t - 3,)], [(t + 1,)])
    if tier == 2:
        neg, zero, pos = rng.choice([("negative", "zero", "positive"), ("neg", "zero", "pos"), ("minus", "none", "plus")])
        return Draft(fn, [x], {"words": [neg, zero, pos]},
                     [f'return "{neg}" if {x} is negative, "{zero}" if it is 0 and "{pos}" if it is positive',
                      f'describe the sign of {x}: "{neg}" below zero, "{zero}" for zero, "{pos}" above zero'],
                     f"Describe the sign of {x}.",
                     f'if {x} < 0:\n    return "{neg}"\nif {x} == 0:\n    return "{zero}"\nreturn "{pos}"',
                     [(-7,), (12,), (0,)], [(-1,), (1,)])
    a = rng.randint(75, 95)
    b = a - rng.randint(10, 25)
    c = b - rng.randint(10, 25)
    return Draft(fn, [x], {"cuts": [a, b, c]},
                 [f'return the grade of score {x}: "A" if it is at least {a}, "B" if at least {b}, "C" if at least {c}, else "F"',
                  f'map the score {x} to a letter: {a} or more is "A", {b} or more is "B", {c} or more is "C", anything lower is "F"'],
                 "Return the letter grade of a score.",
                 f'if {x} >= {a}:\n    return "A"\nif {x} >= {b}:\n    return "B"\nif {x} >= {c}:\n    return "C"\nreturn "F"',
                 [(a + 2,), (b + 1,), (c + 3,), (c - 5,)], [(a,), (b,), (c,), (c - 1,)])


@family("fizz")
def fizz(tier, rng):
    fn = rng.choice(["fizz", "say", "buzz_word", "speak"])
    w1, w2 = rng.sample(["Fizz", "Buzz", "Ping", "Pong", "Zap", "Boom"], 2)
    a, b = rng.sample(range(2, 8), 2)
    n = rng.choice(INT_ARGS)
    if tier == 1:
        return Draft(fn, [n], {"k": a, "word": w1},
                     [f'return "{w1}" if {n} is divisible by {a}, otherwise return {n} as a string',
                      f'give back "{w1}" for multiples of {a} and str({n}) for any other number'],
                     f"Say {w1} for multiples of {a}.", f'if {n} % {a} == 0:\n    return "{w1}"\nreturn str({n})',
                     [(a * 3,), (a * 3 + 1,), (a,)], [(0,), (1,)])
    if tier == 2:
        return Draft(fn, [n], {"a": a, "b": b, "words": [w1, w2]},
                     [f'return "{w1}{w2}" if {n} is divisible by both {a} and {b}, "{w1}" if only by {a}, '
                      f'"{w2}" if only by {b}, and otherwise {n} as a string'],
                     f"Say {w1} and {w2} for multiples of {a} and {b}.",
                     f'if {n} % {a} == 0 and {n} % {b} == 0:\n    return "{w1}{w2}"\nif {n} % {a} == 0:\n    return "{w1}"\n'
                     f'if {n} % {b} == 0:\n    return "{w2}"\nreturn str({n})',
                     [(a * b,), (a,), (b,), (a * b + 1,)], [(0,), (1,)])
    return Draft(fn, [n], {"k": a, "word": w1},
                 [f'return a list for the numbers 1 to {n}: "{w1}" for multiples of {a}, the number as a string otherwise',
                  f'build the list of strings for 1..{n} where multiples of {a} become "{w1}" and other numbers str(i)'],
                 f"Say {w1} for multiples of {a} from 1 to {n}.",
                 f'result = []\nfor i in range(1, {n} + 1):\n    if i % {a} == 0:\n        result.append("{w1}")\n'
                 f'    else:\n        result.append(str(i))\nreturn result',
                 [(a + 1,), (2 * a,)], [(0,), (1,)],
                 [[f"if {n} is 0 return an empty list", f"for {n} = 0 the result is []"]])


@family("power_sum")
def power_sum(tier, rng):
    p = rng.randint(2, 4)
    n = rng.choice(["n", "limit", "m", "top"])
    pw = {2: "squares", 3: "cubes", 4: "fourth powers"}[p]
    if tier == 1:
        fn = rng.choice(["power", "raise_to", "pow_k"])
        x = rng.choice(INT_ARGS)
        return Draft(fn, [x], {"p": p}, [f"return {x} to the power {p}", f"return {x} raised to the power of {p}"],
                     f"Return {x} ** {p}.", f"return {x} ** {p}", [(3,), (-2,), (5,)], [(0,), (1,)])
    fn = rng.choice(["sum_powers", "power_total", "sum_of_" + pw.replace(" ", "_")])
    if tier == 2:
        return Draft(fn, [n], {"p": p},
                     [f"return the sum of the {pw} of the integers from 1 to {n}",
                      f"add up i ** {p} for every i from 1 up to and including {n}"],
                     f"Sum of i ** {p} for i in 1..{n}.", f"return sum(i ** {p} for i in range(1, {n} + 1))",
                     [(3,), (5,), (8,)], [(0,), (1,)])
    k = rng.randint(2, 4)
    return Draft(fn, [n], {"p": p, "k": k},
                 [f"return the sum of the {pw} of the multiples of {k} from 1 to {n}",
                  f"add up i ** {p} for every i between 1 and {n} inclusive that is divisible by {k}"],
                 f"Sum of i ** {p} over multiples of {k} up to {n}.",
                 f"return sum(i ** {p} for i in range(1, {n} + 1) if i % {k} == 0)",
                 [(k * 3,), (k * 2 + 1,), (10,)], [(0,), (k - 1,)])


@family("digits")
def digits(tier, rng):
    n = rng.choice(INT_ARGS)
    main = [(rng.randint(10, 99),), (rng.randint(100, 99999),), (rng.randint(1000, 9999),)]
    edge = [(0,), (-rng.randint(100, 999),), (7,)]
    sign = ["a negative number has the same digits as its absolute value", f"ignore the sign of {n}"]
    if tier == 1:
        fn = rng.choice(["count_digits", "num_digits", "digit_count", "digit_length", "how_many_digits"])
        return Draft(fn, [n], {}, [f"return how many digits the integer {n} has", f"count the digits of {n}"],
                     f"Count the digits of {n}.", f"return len(str(abs({n})))", main, edge, [sign])
    if tier == 2:
        fn = rng.choice(["digit_sum", "sum_digits", "add_digits", "digits_total", "cross_sum"])
        return Draft(fn, [n], {}, [f"return the sum of the digits of {n}", f"add up all the digits of the integer {n}"],
                     f"Sum the digits of {n}.", f"return sum(int(d) for d in str(abs({n})))", main, edge, [sign])
    k = rng.randint(2, 7)
    fn = rng.choice(["count_big_digits", "digits_over", "large_digits"])
    return Draft(fn, [n], {"k": k},
                 [f"return how many digits of {n} are {CMP['>']} {k}", f"count the digits of {n} that exceed {k}"],
                 f"Count digits of {n} above {k}.", f"return sum(1 for d in str(abs({n})) if int(d) > {k})",
                 main + [(int(str(k) * 3),)], edge, [sign])


@family("range_sum")
def range_sum(tier, rng):
    n = rng.choice(["n", "limit", "m", "stop"])
    if tier == 1:
        fn = rng.choice(["total_to", "sum_to", "sum_up_to", "triangle", "gauss_sum"])
        return Draft(fn, [n], {}, [f"return the sum of the integers from 1 to {n} inclusive",
                                   f"add up 1 + 2 + ... + {n} and return the total"],
                     f"Sum 1..{n}.", f"return sum(range(1, {n} + 1))", [(4,), (10,), (7,)], [(0,), (1,)])
    a, b = rng.sample(range(2, 8), 2)
    fn = rng.choice(["sum_multiples", "multiples_total", "add_multiples"])
    if tier == 2:
        return Draft(fn, [n], {"k": a}, [f"return the sum of all positive multiples of {a} that are below {n}",
                                         f"add up every number smaller than {n} that is a multiple of {a} (starting from 1)"],
                     f"Sum the multiples of {a} below {n}.", f"return sum(i for i in range(1, {n}) if i % {a} == 0)",
                     [(a * 4,), (a * 4 + 1,), (20,)], [(0,), (a,)])
    return Draft(fn, [n], {"a": a, "b": b},
                 [f"return the sum of all positive numbers below {n} that are multiples of {a} or {b}",
                  f"add up every number from 1 to {n} - 1 that is divisible by {a} or by {b}"],
                 f"Sum the multiples of {a} or {b} below {n}.",
                 f"return sum(i for i in range(1, {n}) if i % {a} == 0 or i % {b} == 0)",
                 [(a * b,), (a * b + 1,), (20,)], [(0,), (1,), (min(a, b),)],
                 [["numbers that are multiples of both count once", "count each number at most once"]])
