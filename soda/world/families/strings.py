"""Families over strings and lists of words."""

from __future__ import annotations

from soda.world.family import Draft, family
from soda.world.text import CMP, STR_ARGS, WORDS_ARGS

VOCAB = ["apple", "tree", "sky", "banana", "cat", "river", "moon", "go", "level", "stone", "idea", "kayak",
         "table", "sun", "orange", "bird", "noon", "a", "window", "code"]


def sample_words(rng, n=4):
    return rng.sample(VOCAB, n)


def sentence_of(rng, n=4):
    return " ".join(sample_words(rng, n))


@family("str_case")
def str_case(tier, rng):
    s = rng.choice(STR_ARGS)
    kind = rng.choice(["upper", "lower", "title", "swapcase"])
    word = {"upper": "[upper case|uppercase|capital letters]", "lower": "[lower case|lowercase|small letters]",
            "title": "title case (each word capitalised)", "swapcase": "swapped case (upper becomes lower and vice versa)"}[kind]
    fn = rng.choice(["convert_case", "recase", f"to_{kind}", "change_case"])
    main = [("Hello World",), ("mIxEd CaSe text",)]
    if tier == 1:
        return Draft(fn, [s], {"kind": kind}, [f"return {s} converted to {word}", f"return a copy of the string {s} in {word}"],
                     f"Return {s} in {kind} case.", f"return {s}.{kind}()", main, [("",), ("123 abc",)])
    if tier == 2:
        return Draft(fn, [s], {"kind": kind},
                     [f"remove the spaces at both ends of {s} and return the result in {word}",
                      f"return {s} stripped of surrounding whitespace and converted to {word}"],
                     f"Strip {s} and convert it to {kind} case.", f"return {s}.strip().{kind}()",
                     [("  Hello World ",), ("mIxEd CaSe\t",)], [("",), ("   ",)])
    k = rng.randint(1, 4)
    return Draft(fn, [s], {"k": k},
                 [f"return {s} with its first {k} characters in upper case and all the other characters in lower case",
                  f"upper-case the first {k} letters of {s}, lower-case the rest, and return the new string"],
                 f"Upper-case the first {k} characters.", f"return {s}[:{k}].upper() + {s}[{k}:].lower()",
                 main, [("",), ("aB",)])


@family("count_chars")
def count_chars(tier, rng):
    s = rng.choice(STR_ARGS)
    fn = rng.choice(["count_letters", "char_count", "tally_chars", "count_in"])
    main = [(sentence_of(rng),), (sentence_of(rng, 3),), ("Banana Bread",)]
    if tier == 1:
        c = rng.choice("aeiont")
        return Draft(fn, [s], {"c": c}, [f'return how many times the character "{c}" appears in {s}',
                                         f'count the occurrences of "{c}" in the string {s}'],
                     f'Count "{c}" in {s}.', f'return {s}.count("{c}")', main, [("",), (c.upper(),)])
    chars = rng.choice(["aeiou", "xyz", "aei", "rst", "aeiouy"])
    if tier == 2:
        return Draft(fn, [s], {"chars": chars}, [f'return how many characters of {s} are one of "{chars}"',
                                                 f'count the characters in {s} that belong to the set "{chars}"'],
                     f'Count characters of {s} in "{chars}".', f'return sum(1 for ch in {s} if ch in "{chars}")',
                     main, [("",), (chars.upper(),)])
    return Draft(fn, [s], {"chars": chars},
                 [f'return how many characters of {s} are one of "{chars}", ignoring case',
                  f'count the characters in {s} that belong to "{chars}", treating upper and lower case alike'],
                 f'Count characters of {s} in "{chars}", any case.', f'return sum(1 for ch in {s}.lower() if ch in "{chars}")',
                 main, [("",), (chars.upper(),)], [["upper-case letters count too", "case does not matter"]])


@family("palindrome")
def palindrome(tier, rng):
    s = rng.choice(STR_ARGS)
    if tier == 1:
        fn = rng.choice(["reverse", "reverse_string", "backwards", "flip", "rev", "mirror_text"])
        return Draft(fn, [s], {}, [f"return the string {s} reversed", f"return {s} with its characters in reverse order"],
                     f"Reverse {s}.", f"return {s}[::-1]", [("hello",), (sentence_of(rng, 2),)], [("",), ("a",)])
    fn = rng.choice(["is_palindrome", "palindrome", "reads_same", "check_palindrome", "mirror"])
    if tier == 2:
        return Draft(fn, [s], {}, [f"return True if {s} reads the same forwards and backwards, otherwise False",
                                   f"check whether the string {s} is a palindrome"],
                     f"Check that {s} is a palindrome.", f"return {s} == {s}[::-1]",
                     [("level",), ("kayak",), ("hello",), ("ab",)], [("",), ("a",), ("Aa",)])
    return Draft(fn, [s], {}, [f"return True if {s} is a palindrome when case and spaces are ignored",
                               f"check whether {s} reads the same backwards, ignoring spaces and upper/lower case"],
                 f"Check that {s} is a palindrome, ignoring case and spaces.",
                 f'clean = {s}.replace(" ", "").lower()\nreturn clean == clean[::-1]',
                 [("Never odd or even",), ("Top spot",), ("hello world",)], [("",), ("A",), ("ab A",)])


@family("repeat_pad")
def repeat_pad(tier, rng):
    s = rng.choice(STR_ARGS)
    k = rng.randint(2, 5)
    if tier == 1:
        fn = rng.choice(["repeat", "times", "echo"])
        return Draft(fn, [s], {"k": k}, [f"return {s} repeated {k} times", f"return the string {s} written {k} times in a row"],
                     f"Repeat {s} {k} times.", f"return {s} * {k}", [("ab",), ("xyz",)], [("",)])
    if tier == 2:
        w = rng.randint(5, 9)
        c = rng.choice("*.-_#0")
        side, method = rng.choice([("right", "ljust"), ("left", "rjust")])
        fn = rng.choice(["pad", f"pad_{side}", "fill"])
        return Draft(fn, [s], {"width": w, "char": c, "side": side},
                     [f'pad {s} on the {side} with "{c}" until it is {w} characters long and return it',
                      f'return {s} filled with "{c}" on the {side} side up to a length of {w}'],
                     f'Pad {s} on the {side} to width {w}.', f'return {s}.{method}({w}, "{c}")',
                     [("ab",), ("hello",)], [("",), ("x" * (w + 2),)],
                     [[f"strings already {w} characters or longer are returned unchanged", "never cut a long string"]])
    sep = rng.choice(["-", ", ", " ", "+", "/"])
    fn = rng.choice(["repeat_join", "chain", "repeat_with"])
    return Draft(fn, [s], {"k": k, "sep": sep},
                 [f'return {s} repeated {k} times with "{sep}" between the copies',
                  f'join {k} copies of {s} using the separator "{sep}"'],
                 f'Join {k} copies of {s} with "{sep}".', f'return "{sep}".join([{s}] * {k})',
                 [("ab",), ("go",)], [("",)], [["no separator goes at the start or the end", "put the separator only between copies"]])


@family("words")
def words(tier, rng):
    s = rng.choice(["text", "line", "sentence", "msg", "phrase"])
    main = [(sentence_of(rng, 4),), (sentence_of(rng, 5),), ("  two  spaces ",)]
    if tier == 1:
        fn = rng.choice(["word_count", "count_words", "num_words", "how_many_words", "words_in"])
        return Draft(fn, [s], {}, [f"return the number of words in {s}", f"count how many words the string {s} contains"],
                     f"Count the words in {s}.", f"return len({s}.split())", main, [("",), ("   ",)],
                     [["words are separated by whitespace", "any run of spaces separates two words"]])
    if tier == 2:
        fn = rng.choice(["longest_word", "longest", "biggest_word", "max_word", "long_word"])
        return Draft(fn, [s], {}, [f"return the longest word in {s}", f"find the word of {s} with the most characters"],
                     f"Return the longest word of {s}.",
                     f'words = {s}.split()\nif not words:\n    return ""\nreturn max(words, key=len)',
                     main, [("",), ("ab cd",)],
                     [["if several words are equally long, return the first one", "ties go to the earliest word"],
                      ['return "" if there are no words', 'an empty string gives ""']])
    k = rng.randint(2, 5)
    cmp = rng.choice([">", ">=", "<"])
    fn = rng.choice(["count_long", "count_words", "words_longer"])
    return Draft(fn, [s], {"cmp": cmp, "k": k},
                 [f"return how many words in {s} have a length {CMP[cmp]} {k}",
                  f"count the words of {s} whose number of letters is {CMP[cmp]} {k}"],
                 f"Count the words of length {cmp} {k}.", f"return sum(1 for w in {s}.split() if len(w) {cmp} {k})",
                 main + [(" ".join(["a" * k, "b" * (k + 1), "c" * (k - 1)]),)], [("",)])


@family("replace")
def replace(tier, rng):
    s = rng.choice(STR_ARGS)
    fn = rng.choice(["replace_chars", "substitute", "swap_chars", "clean"])
    main = [(sentence_of(rng),), ("a-b-c d",), ("banana 123",)]
    if tier == 1:
        a, b = rng.sample("aeio-_ ", 2)
        return Draft(fn, [s], {"old": a, "new": b},
                     [f'return {s} with every "{a}" replaced by "{b}"', f'replace all occurrences of "{a}" in {s} with "{b}"'],
                     f'Replace "{a}" with "{b}".', f'return {s}.replace("{a}", "{b}")', main, [("",), (a * 3,)])
    if tier == 2:
        chars = rng.choice(["aeiou", " -", "0123456789", "abc"])
        return Draft(fn, [s], {"chars": chars},
                     [f'return {s} with all characters from "{chars}" removed',
                      f'delete every character of {s} that appears in "{chars}" and return what is left'],
                     f'Remove the characters in "{chars}".', f'return "".join(ch for ch in {s} if ch not in "{chars}")',
                     main, [("",), (chars,)])
    mark = rng.choice(["#", "*", "?", "_"])
    test = rng.choice(["isdigit", "isupper"])
    kind = {"isdigit": "digit", "isupper": "upper-case letter"}[test]
    return Draft(fn, [s], {"mark": mark, "kind": kind},
                 [f'return {s} with every {kind} replaced by "{mark}"', f'replace each {kind} in {s} with "{mark}" and return the result'],
                 f'Mask every {kind} with "{mark}".', f'return "".join("{mark}" if ch.{test}() else ch for ch in {s})',
                 [("Pin 42 OK",), *main], [("",), ("xyz",)])


@family("affix")
def affix(tier, rng):
    s = rng.choice(STR_ARGS)
    p = rng.choice(["pre", "un", "re", "ab", "x"])
    q = rng.choice(["ing", "ed", "s", "ly", "er"])
    if tier == 1:
        start = rng.random() < 0.5
        part, method = (p, "startswith") if start else (q, "endswith")
        where = "[starts|begins]" if start else "ends"
        fn = rng.choice(["has_prefix", "starts_ok", "check_start"] if start else ["has_suffix", "ends_ok", "check_end"])
        return Draft(fn, [s], {"part": part, "method": method},
                     [f'return True if {s} {where} with "{part}", otherwise False', f'check whether the string {s} {where} with "{part}"'],
                     f'Check that {s} {"starts" if start else "ends"} with "{part}".', f'return {s}.{method}("{part}")',
                     [(part + "fix",), ("fix" + part,), ("nothing",)], [("",), (part,)])
    if tier == 2:
        fn = rng.choice(["add_prefix", "ensure_prefix", "with_prefix"])
        return Draft(fn, [s], {"prefix": p},
                     [f'return {s} with "{p}" added at the front, unless it already starts with "{p}"',
                      f'make sure {s} begins with "{p}": if it does not, put "{p}" in front; return the result'],
                     f'Ensure {s} starts with "{p}".', f'if {s}.startswith("{p}"):\n    return {s}\nreturn "{p}" + {s}',
                     [(p + "view",), ("view",)], [("",), (p,)])
    fn = rng.choice(["strip_affixes", "trim_ends", "core_word"])
    return Draft(fn, [s], {"prefix": p, "suffix": q},
                 [f'remove the prefix "{p}" from {s} if it is there, then remove the suffix "{q}" if it is there, and return the rest'],
                 f'Remove the prefix "{p}" and the suffix "{q}".',
                 f'if {s}.startswith("{p}"):\n    {s} = {s}[len("{p}"):]\nif {s}.endswith("{q}"):\n    {s} = {s}[:-len("{q}")]\nreturn {s}',
                 [(p + "view" + q,), ("view" + q,), (p + "view",), ("view",)], [("",), (p + q,)])


@family("keep_chars")
def keep_chars(tier, rng):
    s = rng.choice(STR_ARGS)
    main = [("a1b2c3",), ("Room 404, Floor 7",), ("R2-D2 and C3PO",)]
    if tier == 1:
        test = rng.choice(["isdigit", "isalpha", "isupper"])
        kind = {"isdigit": "digits", "isalpha": "letters", "isupper": "upper-case letters"}[test]
        fn = rng.choice(["keep_" + {"isdigit": "digits", "isalpha": "letters", "isupper": "capitals"}[test], "extract", "only"])
        return Draft(fn, [s], {"kind": kind}, [f"return only the {kind} of {s}, in order, as a string",
                                               f"remove every character of {s} that is not one of the {kind}"],
                     f"Keep the {kind} of {s}.", f'return "".join(ch for ch in {s} if ch.{test}())', main, [("",), ("...",)])
    if tier == 2:
        fn = rng.choice(["letters_lower", "normalize", "only_letters", "clean_letters", "squash"])
        return Draft(fn, [s], {}, [f"return the letters of {s} in lower case, dropping every other character",
                                   f"keep only the letters of {s}, convert them to lower case and return them as one string"],
                     f"Keep the letters of {s}, lower-cased.", f'return "".join(ch.lower() for ch in {s} if ch.isalpha())',
                     main, [("",), ("123",)])
    fn = rng.choice(["digit_total", "sum_digits_in", "digits_in_text", "text_digit_sum", "add_text_digits"])
    return Draft(fn, [s], {}, [f"return the sum of all digit characters in {s}",
                               f"add up the digits that appear in the string {s}"],
                 f"Sum the digits in {s}.", f"return sum(int(ch) for ch in {s} if ch.isdigit())", main, [("",), ("abc",)],
                 [["return 0 if there are no digits", "a string without digits gives 0"]])


@family("acronym")
def acronym(tier, rng):
    s = rng.choice(["text", "line", "phrase", "title", "name"])
    fn = rng.choice(["acronym", "initials", "abbreviate", "first_letters", "short_form"])
    main = [(sentence_of(rng, 3),), ("portable network graphics",), ("As Soon As possible",)]
    if tier == 1:
        return Draft(fn, [s], {}, [f"return the first letters of the words in {s}, joined together",
                                   f"build a string from the first character of every word of {s}"],
                     f"Initials of {s}.", f'return "".join(w[0] for w in {s}.split())', main, [("",), ("one",)])
    if tier == 2:
        return Draft(fn, [s], {}, [f"return the acronym of {s}: the first letter of each word, upper-cased",
                                   f"return the upper-case initials of the words in {s} as one string"],
                     f"Upper-case initials of {s}.", f'return "".join(w[0].upper() for w in {s}.split())',
                     main, [("",), ("  one  ",)])
    k = rng.randint(2, 3)
    sep = rng.choice([".", "-", ""])
    return Draft(fn, [s], {"k": k, "sep": sep},
                 [f'return the upper-case first letters of the words of {s} that are longer than {k} characters, joined by "{sep}"'],
                 f"Initials of the words longer than {k}.",
                 f'return "{sep}".join(w[0].upper() for w in {s}.split() if len(w) > {k})',
                 main + [("the art of war",)], [("",), ("a an",)],
                 [[f"shorter words (length {k} or less) are skipped", f"ignore words of {k} letters or fewer"]])


@family("word_lengths")
def word_lengths(tier, rng):
    ws = rng.choice(WORDS_ARGS)
    main = [(sample_words(rng),), (sample_words(rng, 5),)]
    if tier == 1:
        fn = rng.choice(["lengths", "word_lengths", "sizes", "len_each", "measure"])
        return Draft(fn, [ws], {}, [f"return a list with the length of each string in {ws}",
                                    f"return the number of characters of every word of {ws}, as a list"],
                     "Lengths of the words.", f"return [len(w) for w in {ws}]", main, [([],), ([""],)])
    if tier == 2:
        fn = rng.choice(["length_map", "lengths_by_word", "word_sizes", "size_table", "len_dict"])
        return Draft(fn, [ws], {}, [f"return a dictionary mapping each string of {ws} to its length",
                                    f"build a dict whose keys are the words of {ws} and whose values are their lengths"],
                     "Map each word to its length.", f"return {{w: len(w) for w in {ws}}}", main, [([],), (["a", "a"],)])
    k = rng.randint(2, 5)
    cmp = rng.choice([">", ">=", "<", "<=", "=="])
    fn = rng.choice(["pick_words", "words_by_length", "sized_words"])
    return Draft(fn, [ws], {"cmp": cmp, "k": k},
                 [f"return the words of {ws} whose length is {CMP[cmp]} {k}, sorted alphabetically",
                  f"select the strings in {ws} with a length {CMP[cmp]} {k} and return them in alphabetical order"],
                 f"Words of length {cmp} {k}, sorted.", f"return sorted(w for w in {ws} if len(w) {cmp} {k})",
                 main + [(["b" * k, "a" * k, "c" * (k + 1)],)], [([],)])


@family("join_words")
def join_words(tier, rng):
    ws = rng.choice(WORDS_ARGS)
    sep = rng.choice(["-", ", ", " ", "+", "/", "_"])
    fn = rng.choice(["join_all", "glue", "link", "join_words"])
    main = [(sample_words(rng, 3),), (sample_words(rng, 2),)]
    if tier == 1:
        return Draft(fn, [ws], {"sep": sep}, [f'return the strings of {ws} joined with "{sep}"',
                                              f'concatenate the words in {ws}, putting "{sep}" between neighbours'],
                     f'Join with "{sep}".', f'return "{sep}".join({ws})', main, [([],), (["solo"],)])
    if tier == 2:
        return Draft(fn, [ws], {"sep": sep}, [f'return the strings in {ws} in upper case, joined with "{sep}"',
                                              f'upper-case each word of {ws} and join them using "{sep}"'],
                     f'Join upper-cased words with "{sep}".', f'return "{sep}".join(w.upper() for w in {ws})',
                     main, [([],), (["solo"],)])
    return Draft(fn, [ws], {"sep": sep},
                 [f'return the strings in {ws} in reverse order, each capitalised, joined with "{sep}"',
                  f'reverse the order of {ws}, capitalise every word and join them using "{sep}"'],
                 f'Join capitalised words in reverse with "{sep}".',
                 f'return "{sep}".join(w.capitalize() for w in reversed({ws}))', main, [([],), (["solo"],)])


@family("char_freq")
def char_freq(tier, rng):
    s = rng.choice(STR_ARGS)
    main = [("banana",), ("mississippi",), (rng.choice(VOCAB) + rng.choice(VOCAB),)]
    if tier == 1:
        fn = rng.choice(["char_counts", "frequencies", "count_each", "histogram", "letter_counts"])
        return Draft(fn, [s], {}, [f"return a dictionary mapping each character of {s} to the number of times it occurs",
                                   f"count how often every character appears in {s} and return the counts as a dict"],
                     "Count each character.",
                     f"counts = {{}}\nfor ch in {s}:\n    counts[ch] = counts.get(ch, 0) + 1\nreturn counts",
                     main, [("",), ("aaa",)])
    if tier == 2:
        fn = rng.choice(["most_common", "top_char", "most_frequent", "mode_char", "popular_char"])
        return Draft(fn, [s], {}, [f"return the character that occurs most often in {s}",
                                   f"find the most frequent character of {s}"],
                     "Most frequent character.", f'if not {s}:\n    return ""\nreturn max({s}, key={s}.count)',
                     main + [("abab",)], [("",), ("z",)],
                     [["on a tie, return the one that appears first", "ties go to the character seen first"],
                      ['return "" for an empty string', 'an empty string gives ""']])
    k = rng.randint(1, 2)
    fn = rng.choice(["repeated_chars", "frequent_chars", "common_chars"])
    return Draft(fn, [s], {"k": k},
                 [f"return the sorted list of distinct characters that occur more than {k} times in {s}",
                  f"find every character of {s} appearing more than {k} times and return them sorted, without duplicates"],
                 f"Characters occurring more than {k} times.", f"return sorted(set(ch for ch in {s} if {s}.count(ch) > {k}))",
                 main, [("",), ("abc",)])


@family("word_filter")
def word_filter(tier, rng):
    ws = rng.choice(WORDS_ARGS)
    fn = rng.choice(["filter_words", "matching", "select_words", "find_words"])
    p = rng.choice(["a", "b", "s", "t", "c", "o"])
    main = [(VOCAB[:8],), (VOCAB[8:16],), (sample_words(rng, 6),)]
    if tier == 1:
        return Draft(fn, [ws], {"prefix": p}, [f'return the words of {ws} that start with "{p}", in their original order',
                                               f'keep only the strings in {ws} beginning with "{p}"'],
                     f'Words starting with "{p}".', f'return [w for w in {ws} if w.startswith("{p}")]', main, [([],), ([p.upper()],)])
    if tier == 2:
        return Draft(fn, [ws], {"part": p}, [f'return the words of {ws} that contain "{p}", ignoring case',
                                             f'keep the strings in {ws} in which "{p}" appears, in upper or lower case'],
                     f'Words containing "{p}", any case.', f'return [w for w in {ws} if "{p}" in w.lower()]',
                     main + [(["Sun", "Tea", "Cab", "Bob"],)], [([],), ([p.upper()],)])
    k = rng.randint(2, 4)
    return Draft(fn, [ws], {"prefix": p, "k": k},
                 [f'return how many words of {ws} start with "{p}" and are longer than {k} characters',
                  f'count the strings in {ws} that begin with "{p}" and have more than {k} letters'],
                 f'Count long words starting with "{p}".', f'return sum(1 for w in {ws} if w.startswith("{p}") and len(w) > {k})',
                 main + [([p * k, p * (k + 1), p],)], [([],)])


@family("str_pair")
def str_pair(tier, rng):
    a, b = rng.choice([("a", "b"), ("s", "t"), ("first", "second"), ("left", "right"), ("x", "y"), ("one", "two")])
    if tier == 1:
        fn = rng.choice(["longer", "pick_longer", "longest_of", "longer_string", "max_len"])
        return Draft(fn, [a, b], {}, [f"return the longer of the two strings {a} and {b}",
                                      f"given strings {a} and {b}, return the one with more characters"],
                     "Return the longer string.", f"return {a} if len({a}) >= len({b}) else {b}",
                     [("apple", "fig"), ("go", "stone"), ("cat", "dog")], [("", ""), ("", "x")],
                     [[f"if they are equally long, return {a}", f"on a tie, return {a}"]])
    fn = rng.choice(["is_anagram", "anagrams", "same_letters", "check_anagram", "rearranged"])
    if tier == 2:
        return Draft(fn, [a, b], {}, [f"return True if {a} and {b} are anagrams (same characters in a different order)",
                                      f"check whether {b} is a rearrangement of the characters of {a}"],
                     "Check for anagrams.", f"return sorted({a}) == sorted({b})",
                     [("listen", "silent"), ("apple", "paple"), ("cat", "cut")], [("", ""), ("a", "aa")])
    return Draft(fn, [a, b], {}, [f"return True if {a} and {b} are anagrams, ignoring spaces and upper/lower case",
                                  f"check whether {a} and {b} use the same letters, not counting spaces and case"],
                 "Check for anagrams, ignoring case and spaces.",
                 f'return sorted({a}.replace(" ", "").lower()) == sorted({b}.replace(" ", "").lower())',
                 [("Dormitory", "dirty room"), ("The eyes", "they see"), ("cat", "act s")], [("", " "), ("A", "a")])
