"""Families over lists of integers: reduce, count, map, filter, search, reorder."""

from __future__ import annotations

from soda.world.family import Draft, around, family, ints, pick_cmp
from soda.world.text import CMP, LIST_ARGS, OP_STEP, OP_VALUE, ORDINAL, ORDINAL_WORD

EMPTY_ZERO = ["if the list is empty, return 0", "an empty list gives 0"]


@family("list_sum")
def list_sum(tier, rng):
    xs = rng.choice(LIST_ARGS)
    fn = rng.choice(["total", "sum_list", "add_all", "list_total"])
    if tier == 1:
        kind = rng.choice(["plain", "abs"])
        what = {"plain": [f"return the sum of all numbers in {xs}", f"add up the elements of {xs} and return the total"],
                "abs": [f"return the sum of the absolute values of the numbers in {xs}",
                        f"add up abs(x) for every element x of {xs}"]}[kind]
        body = {"plain": f"return sum({xs})", "abs": f"return sum(abs(x) for x in {xs})"}[kind]
        return Draft(fn, [xs], {"kind": kind}, what, "Sum the list.", body,
                     [(ints(rng, 5),), (ints(rng, 3, 1, 20),)], [([],), ([-4],)], [EMPTY_ZERO])
    k = rng.randint(-3, 10)
    op = pick_cmp(rng)
    if tier == 2:
        return Draft(fn, [xs], {"cmp": op, "k": k},
                     [f"return the sum of the elements of {xs} that are {CMP[op]} {k}",
                      f"add up only those numbers in {xs} which are {CMP[op]} {k}"],
                     f"Sum the elements {op} {k}.", f"return sum(x for x in {xs} if x {op} {k})",
                     [(around(rng, k),), (around(rng, k, 8),)], [([],), ([k],)],
                     [[f"return 0 if no element is {CMP[op]} {k}", "an empty list gives 0"]])
    hi = k + rng.randint(2, 8)
    return Draft(fn, [xs], {"lo": k, "hi": hi},
                 [f"return the sum of the elements of {xs} that lie between {k} and {hi}, both inclusive",
                  f"add up the numbers in {xs} that are at least {k} and at most {hi}"],
                 f"Sum the elements in [{k}, {hi}].", f"return sum(x for x in {xs} if {k} <= x <= {hi})",
                 [(around(rng, k) + [hi, hi + 1],), (around(rng, hi, 7),)], [([],), ([k - 1, hi + 1],)], [EMPTY_ZERO])


@family("list_count")
def list_count(tier, rng):
    xs = rng.choice(LIST_ARGS)
    fn = rng.choice(["count", "count_matches", "how_many", "tally"])
    k = rng.randint(0, 9)
    if tier == 1:
        return Draft(fn, [xs], {"k": k},
                     [f"return how many times {k} occurs in {xs}", f"count the elements of {xs} equal to {k}"],
                     f"Count the elements equal to {k}.", f"return {xs}.count({k})",
                     [(around(rng, k, 7, 2),), ([k, k, k + 1],)], [([],), ([k + 1],)])
    op = pick_cmp(rng)
    if tier == 2:
        return Draft(fn, [xs], {"cmp": op, "k": k},
                     [f"return how many elements of {xs} are {CMP[op]} {k}",
                      f"count the numbers in {xs} which are {CMP[op]} {k}"],
                     f"Count the elements {op} {k}.", f"return sum(1 for x in {xs} if x {op} {k})",
                     [(around(rng, k),), (around(rng, k, 8),)], [([],), ([k],)])
    d = rng.randint(2, 5)
    return Draft(fn, [xs], {"cmp": op, "k": k, "d": d},
                 [f"return how many elements of {xs} are divisible by {d} and {CMP[op]} {k}",
                  f"count the multiples of {d} in {xs} that are also {CMP[op]} {k}"],
                 f"Count the multiples of {d} that are {op} {k}.",
                 f"return sum(1 for x in {xs} if x % {d} == 0 and x {op} {k})",
                 [(around(rng, k, 9) + [k * d],), (list(range(k - 4, k + 5)),)], [([],), ([0, -d],)])


@family("list_map")
def list_map(tier, rng):
    xs = rng.choice(LIST_ARGS)
    fn = rng.choice(["transform", "map_values", "convert", "apply_all"])
    op = rng.choice("+-*")
    a = rng.randint(2, 9)
    value = OP_VALUE[op].format(x="x", k=a)
    main = [(ints(rng, 5),), (ints(rng, 4, 0, 20),)]
    if tier == 1:
        return Draft(fn, [xs], {"op": op, "k": a},
                     [f"return a new list with {value} for every element x of {xs}",
                      f"{OP_STEP[op].format(k=a)} to each number in {xs}; return the results as a list"
                      if op != "*" else f"multiply each number in {xs} by {a} and return the new list"],
                     f"Map x to {value}.", f"return [x {op} {a} for x in {xs}]", main, [([],)])
    t = rng.randint(-2, 8)
    cmp = pick_cmp(rng)
    if tier == 2:
        return Draft(fn, [xs], {"op": op, "k": a, "cmp": cmp, "t": t},
                     [f"keep the elements of {xs} that are {CMP[cmp]} {t} and return each one as {value}",
                      f"for every x in {xs} that is {CMP[cmp]} {t}, compute {value}; return these values as a list and drop the others"],
                     f"Map x to {value} for x {cmp} {t}.", f"return [x {op} {a} for x in {xs} if x {cmp} {t}]",
                     [(around(rng, t),), (around(rng, t, 5),)], [([],)])
    return Draft(fn, [xs], {"op": op, "k": a, "cmp": cmp, "t": t},
                 [f"return a list where each element x of {xs} that is {CMP[cmp]} {t} becomes {value}, "
                  "while the other elements stay unchanged",
                  f"replace every x in {xs} that is {CMP[cmp]} {t} by {value}, keep the rest as they are, and return the new list"],
                 f"Map x to {value} only when x {cmp} {t}.", f"return [x {op} {a} if x {cmp} {t} else x for x in {xs}]",
                 [(around(rng, t),), (around(rng, t, 5),)], [([],), ([t],)])


@family("list_filter")
def list_filter(tier, rng):
    xs = rng.choice(LIST_ARGS)
    fn = rng.choice(["select", "keep", "filter_values", "pick"])
    k = rng.randint(-3, 9)
    cmp = pick_cmp(rng)
    main = [(around(rng, k, 7),), (around(rng, k, 6, 9),)]
    if tier == 1:
        return Draft(fn, [xs], {"cmp": cmp, "k": k},
                     [f"return the elements of {xs} that are {CMP[cmp]} {k}, in their original order",
                      f"keep only the numbers in {xs} which are {CMP[cmp]} {k} and return them as a list"],
                     f"Keep the elements {cmp} {k}.", f"return [x for x in {xs} if x {cmp} {k}]", main, [([],)])
    par = rng.choice(["even", "odd"])
    test = "x % 2 == 0" if par == "even" else "x % 2 == 1"
    if tier == 2:
        return Draft(fn, [xs], {"cmp": cmp, "k": k, "parity": par},
                     [f"return the {par} elements of {xs} that are {CMP[cmp]} {k}, keeping their order",
                      f"keep only the {par} numbers in {xs} which are also {CMP[cmp]} {k}"],
                     f"Keep the {par} elements {cmp} {k}.", f"return [x for x in {xs} if {test} and x {cmp} {k}]",
                     main, [([],), ([k],)])
    desc = rng.random() < 0.5
    order = "descending" if desc else "ascending"
    return Draft(fn, [xs], {"cmp": cmp, "k": k, "order": order},
                 [f"return the elements of {xs} that are {CMP[cmp]} {k}, sorted in {order} order",
                  f"select the numbers in {xs} which are {CMP[cmp]} {k} and return them sorted ({order})"],
                 f"Sorted elements {cmp} {k}.",
                 f"return sorted((x for x in {xs} if x {cmp} {k}){', reverse=True' if desc else ''})",
                 main, [([],), ([k, k],)])


@family("list_extreme")
def list_extreme(tier, rng):
    xs = rng.choice(LIST_ARGS)
    big = rng.random() < 0.5
    func = "max" if big else "min"
    word = "[largest|biggest|maximum]" if big else "[smallest|minimum|lowest]"
    fn = rng.choice(["largest", "find_max", "top_value"] if big else ["smallest", "find_min", "bottom_value"])
    main = [(ints(rng, 5),), (ints(rng, 6, 0, 30),)]
    if tier == 1:
        return Draft(fn, [xs], {"kind": func}, [f"return the {word} number in {xs}", f"find the {word} element of {xs}"],
                     f"Return the {func} element.", f"return {func}({xs})", main, [([5],), ([-3, -3],)],
                     [[f"{xs} is never empty", "the list has at least one element"]])
    d = rng.choice([0, -1, None])
    if tier == 2:
        return Draft(fn, [xs], {"kind": func, "default": d}, [f"return the {word} number in {xs}"],
                     f"Return the {func} element or {d}.", f"if not {xs}:\n    return {d}\nreturn {func}({xs})",
                     main, [([],), ([7],)], [[f"if {xs} is empty, return {d}", f"an empty list gives {d}"]])
    k = rng.randint(0, 10)
    cmp = pick_cmp(rng)
    return Draft(fn, [xs], {"kind": func, "default": d, "cmp": cmp, "k": k},
                 [f"return the {word} element of {xs} that is {CMP[cmp]} {k}",
                  f"return the {word} among the numbers in {xs} that are {CMP[cmp]} {k}"],
                 f"Return the {func} element {cmp} {k}, or {d}.",
                 f"found = [x for x in {xs} if x {cmp} {k}]\nif not found:\n    return {d}\nreturn {func}(found)",
                 [(around(rng, k),), (around(rng, k, 8),)], [([],), ([k],)],
                 [[f"if there is no such element, return {d}", f"return {d} when no element qualifies"]])


@family("mean")
def mean(tier, rng):
    xs = rng.choice(LIST_ARGS)
    fn = rng.choice(["mean", "average", "avg", "mean_value"])
    main = [(ints(rng, 4, 0, 20),), (ints(rng, 5),)]
    if tier == 1:
        return Draft(fn, [xs], {}, [f"return the average of the numbers in {xs}", f"compute the arithmetic mean of {xs}"],
                     "Return the mean.", f"return sum({xs}) / len({xs})", main, [([4],), ([-2, 2],)],
                     [[f"{xs} is never empty", "the list always has elements"]])
    if tier == 2:
        return Draft(fn, [xs], {}, [f"return the average of the numbers in {xs}", f"compute the arithmetic mean of {xs}"],
                     "Return the mean, 0 for an empty list.", f"if not {xs}:\n    return 0\nreturn sum({xs}) / len({xs})",
                     main, [([],), ([4],)], [EMPTY_ZERO])
    k = rng.randint(0, 8)
    cmp = pick_cmp(rng)
    d = rng.randint(1, 2)
    return Draft(fn, [xs], {"cmp": cmp, "k": k, "digits": d},
                 [f"return the average of the elements of {xs} that are {CMP[cmp]} {k}, rounded to {d} decimal places",
                  f"compute the mean of the numbers in {xs} which are {CMP[cmp]} {k} and round it to {d} digits"],
                 f"Mean of the elements {cmp} {k}, rounded.",
                 f"found = [x for x in {xs} if x {cmp} {k}]\nif not found:\n    return 0\nreturn round(sum(found) / len(found), {d})",
                 [(around(rng, k),), (around(rng, k, 7),)], [([],), ([k],)],
                 [["return 0 if no element qualifies", "when there is no such element the answer is 0"]])


@family("find_index")
def find_index(tier, rng):
    xs = rng.choice(LIST_ARGS)
    fn = rng.choice(["find", "index_of", "locate", "position"])
    k = rng.randint(0, 9)
    if tier == 1:
        lst = around(rng, k, 6, 4)
        return Draft(fn, [xs], {"k": k},
                     [f"return the index of the first occurrence of {k} in {xs}",
                      f"find where {k} first appears in {xs} and return its position"],
                     f"Index of the first {k}.", f"return {xs}.index({k})", [(lst,), ([k, k],)], [([k],)],
                     [[f"{k} always occurs in {xs}", f"you may assume {xs} contains {k}"]])
    missing = [[f"return -1 if there is none", "if no element matches, return -1"]]
    if tier == 2:
        cmp = pick_cmp(rng)
        return Draft(fn, [xs], {"cmp": cmp, "k": k},
                     [f"return the index of the first element of {xs} that is {CMP[cmp]} {k}",
                      f"find the position of the first number in {xs} which is {CMP[cmp]} {k}"],
                     f"Index of the first element {cmp} {k}, or -1.",
                     f"for i, x in enumerate({xs}):\n    if x {cmp} {k}:\n        return i\nreturn -1",
                     [(around(rng, k),), (around(rng, k, 5),)], [([],), ([k],)], missing)
    return Draft(fn, [xs], {"k": k},
                 [f"return the index of the last occurrence of {k} in {xs}",
                  f"find the position of the last element of {xs} equal to {k}"],
                 f"Index of the last {k}, or -1.",
                 f"for i in range(len({xs}) - 1, -1, -1):\n    if {xs}[i] == {k}:\n        return i\nreturn -1",
                 [(around(rng, k, 6, 2) + [k, k + 1],), ([k, k + 2, k],)], [([],), ([k + 1],)], missing)


@family("slicing")
def slicing(tier, rng):
    xs = rng.choice(LIST_ARGS)
    k = rng.randint(2, 4)
    lst = list(range(1, 8))
    rng.shuffle(lst)
    if tier == 1:
        kind = rng.choice(["first", "last", "reverse"])
        fn = {"first": rng.choice(["head", "first_k", "take"]), "last": rng.choice(["tail", "last_k", "take_last"]),
              "reverse": rng.choice(["reverse_list", "reversed_list", "flip_list"])}[kind]
        what = {"first": [f"return the first {k} elements of {xs}", f"return a list of the leading {k} items of {xs}"],
                "last": [f"return the last {k} elements of {xs}", f"return a list of the final {k} items of {xs}"],
                "reverse": [f"return {xs} in reverse order", f"return a reversed copy of {xs}"]}[kind]
        body = {"first": f"return {xs}[:{k}]", "last": f"return {xs}[-{k}:]", "reverse": f"return {xs}[::-1]"}[kind]
        return Draft(fn, [xs], {"kind": kind, "k": k}, what, f"Slice: {kind}.", body, [(lst,), (lst[:5],)],
                     [([],), ([3],)])
    if tier == 2:
        fn = rng.choice(["every_kth", "step_items", "stride"])
        k += 1
        return Draft(fn, [xs], {"k": k},
                     [f"return every {k}-th element of {xs}, starting with the first one",
                      f"return the elements of {xs} at indexes 0, {k}, {2 * k} and so on"],
                     f"Every {k}-th element.", f"return {xs}[::{k}]", [(lst,), (lst[:k + 1],)], [([],), ([5],)])
    fn = rng.choice(["rotate", "rotate_left", "shift_left"])
    return Draft(fn, [xs], {"k": k},
                 [f"rotate {xs} to the left by {k} positions and return the new list",
                  f"return {xs} rotated left {k} times (the first element moves to the end each time)"],
                 f"Rotate left by {k}.",
                 f"if not {xs}:\n    return []\nk = {k} % len({xs})\nreturn {xs}[k:] + {xs}[:k]",
                 [(lst,), (lst[:k + 2],)], [([],), (lst[:k],), ([1],)],
                 [["an empty list stays empty", "if the list is empty return []"],
                  [f"{k} may be larger than the length of the list", "rotating by the length gives the same list"]])


@family("running")
def running(tier, rng):
    xs = rng.choice(LIST_ARGS)
    main = [(ints(rng, 5),), (ints(rng, 4, 0, 9),)]
    if tier == 1:
        fn = rng.choice(["running_sum", "prefix_sums", "cumulative"])
        return Draft(fn, [xs], {}, [f"return the running totals of {xs}: element i is the sum of the first i+1 elements",
                                    f"return the list of prefix sums of {xs}"],
                     "Prefix sums.", f"total = 0\nresult = []\nfor x in {xs}:\n    total += x\n    result.append(total)\nreturn result",
                     main, [([],), ([5],)])
    if tier == 2:
        big = rng.random() < 0.5
        func = "max" if big else "min"
        fn = rng.choice([f"running_{func}", f"prefix_{func}", f"{func}_so_far"])
        word = "maximum" if big else "minimum"
        return Draft(fn, [xs], {"kind": func},
                     [f"return a list whose element i is the {word} of the first i+1 elements of {xs}",
                      f"return the running {word} of {xs}"],
                     f"Running {word}.",
                     f"result = []\nfor x in {xs}:\n    if not result:\n        result.append(x)\n    else:\n"
                     f"        result.append({func}(result[-1], x))\nreturn result",
                     main, [([],), ([3],)])
    fn = rng.choice(["running_sum", "prefix_totals", "accumulate"])
    start = rng.randint(1, 20)
    k = rng.randint(0, 5)
    cmp = pick_cmp(rng)
    return Draft(fn, [xs], {"start": start, "cmp": cmp, "k": k},
                 [f"start a total at {start}; for each element of {xs}, add it to the total only if it is {CMP[cmp]} {k}, "
                  "and record the total after each element; return the recorded totals"],
                 f"Running total from {start} over elements {cmp} {k}.",
                 f"total = {start}\nresult = []\nfor x in {xs}:\n    if x {cmp} {k}:\n        total += x\n    result.append(total)\nreturn result",
                 [(around(rng, k, 5),), (around(rng, k, 4),)], [([],), ([k],)])


@family("diffs")
def diffs(tier, rng):
    xs = rng.choice(LIST_ARGS)
    main = [(ints(rng, 5),), (ints(rng, 4, 0, 20),)]
    if tier == 1:
        fn = rng.choice(["differences", "deltas", "gaps"])
        return Draft(fn, [xs], {}, [f"return the list of differences between consecutive elements of {xs} (next minus current)",
                                    f"for each pair of neighbours a, b in {xs} return b - a, as a list"],
                     "Consecutive differences.", f"return [b - a for a, b in zip({xs}, {xs}[1:])]", main, [([],), ([4],)])
    if tier == 2:
        fn = rng.choice(["count_rises", "increases", "count_ups"])
        return Draft(fn, [xs], {}, [f"return how many times an element of {xs} is greater than the element before it",
                                    f"count the positions where {xs} goes up from one element to the next"],
                     "Count increases.", f"return sum(1 for a, b in zip({xs}, {xs}[1:]) if b > a)",
                     main + [([1, 1, 2, 2],)], [([],), ([3],)])
    fn = rng.choice(["biggest_jump", "max_step", "largest_gap"])
    return Draft(fn, [xs], {}, [f"return the largest absolute difference between two neighbouring elements of {xs}",
                                f"find the biggest jump |b - a| between consecutive numbers in {xs}"],
                 "Largest consecutive jump.",
                 f"if len({xs}) < 2:\n    return 0\nreturn max(abs(b - a) for a, b in zip({xs}, {xs}[1:]))",
                 main, [([],), ([5],)], [["return 0 if the list has fewer than two elements",
                                         "lists shorter than 2 give 0"]])


@family("unique")
def unique(tier, rng):
    xs = rng.choice(LIST_ARGS)
    main = [(ints(rng, 7, 0, 5),), (ints(rng, 6, -3, 3),)]
    if tier == 1:
        fn = rng.choice(["distinct", "unique_sorted", "dedupe"])
        return Draft(fn, [xs], {}, [f"return the distinct values of {xs} in ascending order",
                                    f"remove duplicates from {xs} and return the values sorted"],
                     "Sorted distinct values.", f"return sorted(set({xs}))", main, [([],), ([2, 2],)])
    if tier == 2:
        fn = rng.choice(["dedupe", "unique", "remove_duplicates"])
        return Draft(fn, [xs], {}, [f"remove duplicates from {xs}, keeping the first occurrence of each value in its original order",
                                    f"return the values of {xs} without repeats, in order of first appearance"],
                     "Distinct values in order.",
                     f"result = []\nfor x in {xs}:\n    if x not in result:\n        result.append(x)\nreturn result",
                     main, [([],), ([2, 2],)])
    k = rng.randint(1, 2)
    fn = rng.choice(["singles", "exact_count", "appear_k"])
    times = {1: "exactly once", 2: "exactly twice"}[k]
    return Draft(fn, [xs], {"k": k}, [f"return the elements of {xs} that occur {times} in it, in their original order",
                                      f"keep only the values that appear {times} in {xs} (keep order)"],
                 f"Elements occurring {k} times.", f"return [x for x in {xs} if {xs}.count(x) == {k}]",
                 main + [([1, 2, 2, 3, 3, 3],)], [([],), ([4],)])


@family("all_any")
def all_any(tier, rng):
    xs = rng.choice(LIST_ARGS)
    k = rng.randint(-2, 8)
    cmp = pick_cmp(rng)
    if tier == 1:
        every = rng.random() < 0.5
        fn = rng.choice(["all_match", "every", "check_all"] if every else ["any_match", "some", "check_any"])
        quant, func = ("every element", "all") if every else ("at least one element", "any")
        return Draft(fn, [xs], {"kind": func, "cmp": cmp, "k": k},
                     [f"return True if {quant} of {xs} is {CMP[cmp]} {k}, otherwise False",
                      f"check whether {quant} in {xs} is {CMP[cmp]} {k}"],
                     f"Check {func} elements {cmp} {k}.", f"return {func}(x {cmp} {k} for x in {xs})",
                     [([k + 5, k + 6],), ([k - 5, k - 6],), (around(rng, k, 4),), ([k],)], [([],)])
    if tier == 2:
        fn = rng.choice(["all_match", "every", "check_all"])
        return Draft(fn, [xs], {"cmp": cmp, "k": k},
                     [f"return True if {xs} is not empty and every element of it is {CMP[cmp]} {k}"],
                     f"Check non-empty and all elements {cmp} {k}.", f"return len({xs}) > 0 and all(x {cmp} {k} for x in {xs})",
                     [([k + 5, k + 6],), ([k - 5, k - 6],), (around(rng, k, 4),), ([k],)], [([],)],
                     [["an empty list gives False", f"if {xs} is empty the answer is False"]])
    strict = rng.random() < 0.5
    up = rng.random() < 0.5
    op = {(True, True): "<", (True, False): ">", (False, True): "<=", (False, False): ">="}[(strict, up)]
    order = ("strictly " if strict else "") + ("increasing" if up else "decreasing")
    if not strict:
        order = "non-decreasing" if up else "non-increasing"
    fn = rng.choice(["is_sorted", "is_ordered", "check_order"])
    return Draft(fn, [xs], {"order": order},
                 [f"return True if {xs} is {order}, otherwise False", f"check whether the numbers in {xs} are in {order} order"],
                 f"Check {order} order.", f"return all(a {op} b for a, b in zip({xs}, {xs}[1:]))",
                 [([1, 2, 3],), ([3, 2, 1],), ([1, 1, 2],), ([2, 2, 1],), ([1, 3, 2],)], [([],), ([5],)],
                 [["an empty list or a single element counts as ordered", "lists with fewer than two elements give True"]])


@family("product")
def product(tier, rng):
    xs = rng.choice(LIST_ARGS)
    fn = rng.choice(["product", "multiply_all", "prod"])
    main = [(ints(rng, 4, -4, 6),), (ints(rng, 3, 1, 9),)]
    if tier == 1:
        return Draft(fn, [xs], {}, [f"return the product of all numbers in {xs}", f"multiply together the elements of {xs}"],
                     "Product of the elements.", f"result = 1\nfor x in {xs}:\n    result *= x\nreturn result",
                     main, [([],), ([0, 5],)], [["the product of an empty list is 1", "an empty list gives 1"]])
    k = rng.randint(-1, 5)
    cmp = pick_cmp(rng)
    if tier == 2:
        return Draft(fn, [xs], {"cmp": cmp, "k": k},
                     [f"return the product of the elements of {xs} that are {CMP[cmp]} {k}",
                      f"multiply together only the numbers in {xs} which are {CMP[cmp]} {k}"],
                     f"Product of the elements {cmp} {k}.",
                     f"result = 1\nfor x in {xs}:\n    if x {cmp} {k}:\n        result *= x\nreturn result",
                     [(around(rng, k, 5, 3),), (around(rng, k, 4, 3),)], [([],), ([k],)],
                     [["return 1 if no element qualifies", "with no such element the product is 1"]])
    d = rng.choice([0, -1])
    return Draft(fn, [xs], {"cmp": cmp, "k": k, "default": d},
                 [f"return the product of the elements of {xs} that are {CMP[cmp]} {k}",
                  f"multiply together only the numbers in {xs} which are {CMP[cmp]} {k}"],
                 f"Product of the elements {cmp} {k}, or {d}.",
                 f"found = [x for x in {xs} if x {cmp} {k}]\nif not found:\n    return {d}\nresult = 1\n"
                 f"for x in found:\n    result *= x\nreturn result",
                 [(around(rng, k, 5, 3),), (around(rng, k, 4, 3),)], [([],), ([k],)],
                 [[f"return {d} if no element qualifies", f"when there is no such element the answer is {d}"]])


@family("spread")
def spread(tier, rng):
    xs = rng.choice(LIST_ARGS)
    fn = rng.choice(["spread", "value_range", "span"])
    main = [(ints(rng, 5),), (ints(rng, 4, 0, 30),)]
    what = [f"return the difference between the largest and the smallest number in {xs}",
            f"return max minus min of {xs}"]
    if tier == 1:
        return Draft(fn, [xs], {}, what, "Largest minus smallest.", f"return max({xs}) - min({xs})", main,
                     [([4],), ([2, 2],)], [[f"{xs} is never empty", "the list has at least one number"]])
    if tier == 2:
        return Draft(fn, [xs], {}, what, "Largest minus smallest, 0 if empty.",
                     f"if not {xs}:\n    return 0\nreturn max({xs}) - min({xs})", main, [([],), ([4],)], [EMPTY_ZERO])
    k = rng.randint(0, 8)
    cmp = pick_cmp(rng)
    return Draft(fn, [xs], {"cmp": cmp, "k": k},
                 [f"return the difference between the largest and smallest elements of {xs} that are {CMP[cmp]} {k}"],
                 f"Spread of the elements {cmp} {k}.",
                 f"found = [x for x in {xs} if x {cmp} {k}]\nif len(found) < 2:\n    return 0\nreturn max(found) - min(found)",
                 [(around(rng, k),), (around(rng, k, 8),)], [([],), ([k],)],
                 [["return 0 if fewer than two elements qualify", "with fewer than two such elements the answer is 0"]])


@family("kth")
def kth(tier, rng):
    xs = rng.choice(LIST_ARGS)
    k = rng.randint(2, 3)
    big = rng.random() < 0.5
    word = "largest" if big else "smallest"
    fn = rng.choice([f"kth_{word}", f"nth_{word}", f"rank_{word}"])
    index = f"-{k}" if big else f"{k - 1}"
    main = [(ints(rng, 6, 0, 20),), ([5, 1, 5, 3, 2, 4],)]
    if tier == 1:
        return Draft(fn, [xs], {"k": k, "kind": word},
                     [f"return the {ORDINAL[k]} {word} element of {xs}, counting repeated values separately",
                      f"sort {xs} and return its {ORDINAL[k]} {word} value"],
                     f"The {ORDINAL_WORD[k]} {word} element.", f"return sorted({xs})[{index}]", main, [([7, 7, 7],)],
                     [[f"{xs} has at least 3 elements", "the list always has three or more numbers"]])
    if tier == 2:
        return Draft(fn, [xs], {"k": k, "kind": word},
                     [f"return the {ORDINAL[k]} {word} distinct value in {xs}",
                      f"ignore duplicates and return the {ORDINAL[k]} {word} number of {xs}"],
                     f"The {ORDINAL_WORD[k]} {word} distinct value.", f"return sorted(set({xs}))[{index}]", main,
                     [([1, 2, 3],)], [[f"{xs} has at least 3 distinct values", "there are always three or more different numbers"]])
    return Draft(fn, [xs], {"k": k, "kind": word},
                 [f"return the {ORDINAL[k]} {word} distinct value in {xs}",
                  f"ignore duplicates and return the {ORDINAL[k]} {word} number of {xs}"],
                 f"The {ORDINAL_WORD[k]} {word} distinct value, or None.",
                 f"values = sorted(set({xs}))\nif len(values) < {k}:\n    return None\nreturn values[{index}]",
                 main, [([],), ([4] * 4,), (list(range(k)),)],
                 [[f"return None if there are fewer than {k} distinct values",
                   f"when {xs} has fewer than {k} different numbers, return None"]])
