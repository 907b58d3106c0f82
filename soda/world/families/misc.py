"""Families over pairs of lists, dictionaries, grids, parity, ordering, loops and primes."""

from __future__ import annotations

from soda.world.family import Draft, around, family, ints, pick_cmp
from soda.world.text import CMP, INT_ARGS, LIST_ARGS, OP_VALUE, WORDS_ARGS

PAIRS = [("a", "b"), ("xs", "ys"), ("left", "right"), ("first", "second"), ("u", "v"), ("p", "q")]


@family("pair_lists")
def pair_lists(tier, rng):
    a, b = rng.choice(PAIRS)
    main = [([1, 2, 3], [4, 5, 6]), (ints(rng, 4), ints(rng, 4)), ([2, 7], [2, 1])]
    if tier == 1:
        op = rng.choice("+-*")
        value = OP_VALUE[op].format(x="x", k="y")
        fn = rng.choice(["pairwise", "zip_with", "elementwise"])
        return Draft(fn, [a, b], {"op": op},
                     [f"return a list with {value} for each pair of elements x, y at the same position in {a} and {b}",
                      f"combine {a} and {b} position by position: element i of the result is {a}[i] {op} {b}[i]"],
                     f"Combine two lists element by element with {op}.", f"return [x {op} y for x, y in zip({a}, {b})]",
                     main, [([], [])], [["both lists have the same length", f"{a} and {b} are equally long"]])
    if tier == 2:
        fn = rng.choice(["dot", "dot_product", "inner", "scalar_product", "weighted_sum"])
        return Draft(fn, [a, b], {}, [f"return the dot product of {a} and {b}: the sum of {a}[i] * {b}[i]",
                                      f"multiply {a} and {b} element by element and return the sum of the products"],
                     "Dot product.", f"return sum(x * y for x, y in zip({a}, {b}))", main, [([], [])])
    kind = rng.choice(["common", "only_first"])
    fn = rng.choice(["common", "shared", "intersect"] if kind == "common" else ["difference", "only_in_first", "missing"])
    what = {"common": [f"return the sorted list of distinct values that appear in both {a} and {b}",
                       f"find the values present in {a} and in {b}; return them sorted, without duplicates"],
            "only_first": [f"return the sorted list of distinct values of {a} that do not appear in {b}",
                           f"find the values in {a} missing from {b}; return them sorted, without duplicates"]}[kind]
    body = {"common": f"return sorted(set({a}) & set({b}))", "only_first": f"return sorted(set({a}) - set({b}))"}[kind]
    return Draft(fn, [a, b], {"kind": kind}, what, f"Sorted {kind.replace('_', ' ')} values.", body,
                 main + [([3, 1, 3, 2], [2, 3, 3])], [([], [1]), ([1, 1], [])])


@family("dict_ops")
def dict_ops(tier, rng):
    d, key = rng.choice([("d", "key"), ("table", "name"), ("prices", "item"), ("scores", "player")])
    data = {"ann": 7, "bob": 3, "cy": 12, "dee": 5}
    main = [(data,), ({"x": 1, "y": 9, "z": 4},)]
    if tier == 1:
        default = rng.choice([0, -1, None])
        fn = rng.choice(["lookup", "get_value", "fetch"])
        return Draft(fn, [d, key], {"default": default},
                     [f"return the value stored in the dictionary {d} under {key}, or {default} if {key} is missing",
                      f"look up {key} in {d} and return its value; when {key} is not a key of {d}, return {default}"],
                     f"Look up {key} with default {default}.", f"return {d}.get({key}, {default})",
                     [(data, "bob"), (data, "cy"), (data, "zed")], [({}, "a")])
    k = rng.randint(3, 8)
    cmp = pick_cmp(rng)
    if tier == 2:
        fn = rng.choice(["total_over", "sum_values", "value_sum"])
        return Draft(fn, [d], {"cmp": cmp, "k": k},
                     [f"return the sum of the values of {d} that are {CMP[cmp]} {k}",
                      f"add up the dictionary values in {d} which are {CMP[cmp]} {k}"],
                     f"Sum the values {cmp} {k}.", f"return sum(v for v in {d}.values() if v {cmp} {k})",
                     main + [({"a": k, "b": k + 1, "c": k - 1},)], [({},)])
    fn = rng.choice(["keys_over", "select_keys", "matching_keys"])
    return Draft(fn, [d], {"cmp": cmp, "k": k},
                 [f"return the sorted list of keys of {d} whose value is {CMP[cmp]} {k}",
                  f"find the keys in {d} with a value {CMP[cmp]} {k} and return them in sorted order"],
                 f"Sorted keys with value {cmp} {k}.", f"return sorted(k for k, v in {d}.items() if v {cmp} {k})",
                 main + [({"c": k, "a": k + 1, "b": k - 1},)], [({},)])


@family("grid")
def grid(tier, rng):
    g = rng.choice(["grid", "matrix", "rows", "table", "board", "m"])
    main = [([[1, 2], [3, 4]],), ([ints(rng, 3), ints(rng, 3), ints(rng, 3)],)]
    if tier == 1:
        fn = rng.choice(["grid_sum", "grid_total", "sum_all", "matrix_sum", "total_2d"])
        return Draft(fn, [g], {}, [f"return the sum of all numbers in the 2D list {g}",
                                   f"add up every element of {g}, a list of rows"],
                     "Sum of all elements.", f"return sum(sum(row) for row in {g})", main, [([],), ([[]],)])
    if tier == 2:
        kind = rng.choice(["row", "column"])
        fn = rng.choice([f"{kind}_sums", f"{kind}_totals", f"sum_{kind}s"])
        body = f"return [sum(row) for row in {g}]" if kind == "row" else f"return [sum(col) for col in zip(*{g})]"
        return Draft(fn, [g], {"kind": kind}, [f"return a list with the sum of each {kind} of the 2D list {g}",
                                               f"compute the total of every {kind} of {g} and return them in order"],
                     f"Sum of each {kind}.", body, main + [([[1, 2, 3], [4, 5, 6]],)], [([],), ([[5]],)])
    fn = rng.choice(["trace", "diagonal_sum", "diag_total", "sum_diagonal", "diag"])
    return Draft(fn, [g], {}, [f"return the sum of the main diagonal of the square 2D list {g}",
                               f"add up {g}[i][i] for every row i of the square matrix {g}"],
                 "Sum of the main diagonal.", f"return sum({g}[i][i] for i in range(len({g})))", main, [([],), ([[7]],)],
                 [["an empty grid gives 0", "return 0 for an empty matrix"]])


@family("parity")
def parity(tier, rng):
    xs = rng.choice(LIST_ARGS)
    main = [(ints(rng, 6),), (ints(rng, 5, 0, 20),)]
    if tier == 1:
        par = rng.choice(["even", "odd"])
        test = "x % 2 == 0" if par == "even" else "x % 2 == 1"
        fn = rng.choice([f"count_{par}", f"{par}_count", f"num_{par}"])
        return Draft(fn, [xs], {"parity": par}, [f"return how many {par} numbers {xs} contains",
                                                 f"count the {par} elements of {xs}"],
                     f"Count the {par} numbers.", f"return sum(1 for x in {xs} if {test})", main, [([],), ([-3],)])
    if tier == 2:
        fn = rng.choice(["parity_counts", "even_odd", "count_parity"])
        return Draft(fn, [xs], {}, [f"return a tuple (number of even elements, number of odd elements) of {xs}",
                                    f"count the even and the odd numbers in {xs} and return both counts as a tuple, evens first"],
                     "Count evens and odds.",
                     f"evens = sum(1 for x in {xs} if x % 2 == 0)\nreturn (evens, len({xs}) - evens)", main, [([],), ([0],)])
    fn = rng.choice(["parity_balance", "even_minus_odd", "sum_diff"])
    return Draft(fn, [xs], {}, [f"return the sum of the even elements of {xs} minus the sum of its odd elements"],
                 "Sum of evens minus sum of odds.",
                 f"evens = sum(x for x in {xs} if x % 2 == 0)\nodds = sum(x for x in {xs} if x % 2 == 1)\nreturn evens - odds",
                 main, [([],), ([-3],)], [["negative odd numbers count as odd", "an empty list gives 0"]])


@family("sort_by")
def sort_by(tier, rng):
    if tier == 3:
        ws = rng.choice(WORDS_ARGS)
        desc = rng.random() < 0.5
        fn = rng.choice(["sort_words", "order_words", "by_length"])
        order = "longest first" if desc else "shortest first"
        key = "(-len(w), w)" if desc else "(len(w), w)"
        return Draft(fn, [ws], {"order": order},
                     [f"return the strings of {ws} sorted by length ({order}), and alphabetically among equal lengths"],
                     f"Sort by length, {order}, then alphabetically.", f"return sorted({ws}, key=lambda w: {key})",
                     [(["pear", "fig", "apple", "kiwi"],), (["bb", "a", "ccc", "aa"],)], [([],), (["b", "a"],)])
    xs = rng.choice(LIST_ARGS)
    fn = rng.choice(["sort_values", "ordered", "arrange"])
    if tier == 1:
        desc = rng.random() < 0.5
        order = "descending" if desc else "ascending"
        return Draft(fn, [xs], {"order": order}, [f"return the numbers of {xs} sorted in {order} order",
                                                  f"return a new list with the elements of {xs} in {order} order"],
                     f"Sort {order}.", f"return sorted({xs}{', reverse=True' if desc else ''})",
                     [(ints(rng, 6),), ([3, -1, 2, -5, 0],)], [([],)])
    kind = rng.choice(["abs", "last"])
    what = {"abs": [f"return {xs} sorted by absolute value (smallest first)", f"sort the numbers of {xs} by their distance from zero"],
            "last": [f"return {xs} sorted by the last digit of each number (x % 10)", f"sort {xs} by x % 10, keeping ties in their original order"]}[kind]
    key = {"abs": "abs", "last": "lambda x: x % 10"}[kind]
    main = [(ints(rng, 6),), ([3, -1, 2, -5, 0],)] if kind == "abs" else [(ints(rng, 6, 0, 40),), ([13, 22, 31, 40],)]
    return Draft(fn, [xs], {"key": kind}, what, f"Sort by {kind}.", f"return sorted({xs}, key={key})", main, [([],)],
                 [["ties keep their original order", "equal keys stay in input order"]])


@family("loop_steps")
def loop_steps(tier, rng):
    n = rng.choice(INT_ARGS)
    if tier == 1:
        k = rng.randint(2, 5)
        fn = rng.choice(["divide_steps", "times_divisible", "count_divisions"])
        return Draft(fn, [n], {"k": k},
                     [f"return how many times {n} can be integer-divided by {k} before it reaches 0",
                      f"repeatedly replace {n} by {n} // {k} until it is 0 and return the number of divisions"],
                     f"Count integer divisions by {k} until 0.",
                     f"count = 0\nwhile {n} > 0:\n    {n} //= {k}\n    count += 1\nreturn count",
                     [(k ** 3,), (k ** 2 - 1,), (100,)], [(0,), (1,)], [[f"{n} is never negative", f"assume {n} >= 0"]])
    if tier == 2:
        fn = rng.choice(["collatz_steps", "steps_to_one", "collatz", "hailstone", "collatz_len"])
        return Draft(fn, [n], {}, [f"return how many Collatz steps it takes {n} to reach 1: halve it when even, "
                                   f"otherwise replace it by 3 * {n} + 1"],
                     "Count Collatz steps to 1.",
                     f"count = 0\nwhile {n} != 1:\n    if {n} % 2 == 0:\n        {n} //= 2\n    else:\n        {n} = 3 * {n} + 1\n"
                     "    count += 1\nreturn count",
                     [(6,), (7,), (16,)], [(1,), (2,)], [[f"{n} is at least 1", f"assume {n} >= 1"]])
    t = rng.randint(1, 10)
    a = rng.randint(1, 5)
    fn = rng.choice(["shrink_steps", "reduce_count", "count_steps"])
    return Draft(fn, [n], {"t": t, "a": a},
                 [f"count the steps needed to bring {n} to {t} or below, where each step halves {n} (integer division) "
                  f"if it is even and subtracts {a} if it is odd"],
                 f"Count halving/subtract-{a} steps down to {t}.",
                 f"count = 0\nwhile {n} > {t}:\n    if {n} % 2 == 0:\n        {n} //= 2\n    else:\n        {n} -= {a}\n"
                 "    count += 1\nreturn count",
                 [(t + 9,), (t * 4 + 3,), (50,)], [(t,), (t + 1,)])


@family("primes")
def primes(tier, rng):
    n = rng.choice(INT_ARGS)
    if tier == 1:
        fn = rng.choice(["is_prime", "prime", "check_prime", "prime_test", "isprime"])
        return Draft(fn, [n], {}, [f"return True if {n} is a prime number, otherwise False",
                                   f"check whether the integer {n} is prime"],
                     f"Check that {n} is prime.",
                     f"if {n} < 2:\n    return False\nfor d in range(2, {n}):\n    if {n} % d == 0:\n        return False\nreturn True",
                     [(7,), (9,), (13,), (15,)], [(0,), (1,), (2,)], [["numbers below 2 are not prime", "0 and 1 are not prime"]])
    if tier == 2:
        fn = rng.choice(["count_primes", "prime_count", "num_primes", "primes_below", "pi_of"])
        return Draft(fn, [n], {}, [f"return how many prime numbers are smaller than {n}",
                                   f"count the primes below {n}"],
                     f"Count the primes below {n}.",
                     f"return sum(1 for m in range(2, {n}) if all(m % d != 0 for d in range(2, m)))",
                     [(10,), (20,), (8,)], [(0,), (2,), (3,)])
    k = rng.randint(2, 10)
    cmp = rng.choice([">", ">="])
    fn = rng.choice(["prime_sum", "sum_primes", "add_primes"])
    return Draft(fn, [n], {"cmp": cmp, "k": k},
                 [f"return the sum of the primes below {n} that are {CMP[cmp]} {k}",
                  f"add up every prime number smaller than {n} which is {CMP[cmp]} {k}"],
                 f"Sum the primes below {n} that are {cmp} {k}.",
                 f"return sum(m for m in range(2, {n}) if m {cmp} {k} and all(m % d != 0 for d in range(2, m)))",
                 [(20,), (k + 8,), (30,)], [(0,), (k,)])
