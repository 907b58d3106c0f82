from collections import Counter

from soda.evolve import dedupe, quotas, sample


def test_quotas_follow_the_ratio_and_sum_to_total():
    assert quotas([1, 1, 2], {"easy": 50, "medium": 50, "hard": 50}, 200) == {"easy": 50, "medium": 50, "hard": 100}
    assert sum(quotas([1, 1, 2], {"easy": 5, "medium": 5, "hard": 5}, 7).values()) == 7


def test_empty_level_gives_its_share_to_the_others():
    assert quotas([1, 1, 2], {"easy": 0, "medium": 3, "hard": 3}, 30) == {"medium": 10, "hard": 20}
    assert quotas([0, 0, 4], {"easy": 3, "medium": 3, "hard": 0}, 10) == {}


def _world(levels):
    questions = [{"id": f"q{i}", "question": f"question {i}"} for i in range(len(levels))]
    feedback = [{"id": f"q{i}", "level": lvl} for i, lvl in enumerate(levels)]
    return questions, feedback


def test_sample_ratio_harder_for_easy_and_replacement_when_short():
    questions, feedback = _world(["easy"] * 10 + ["medium"] * 10 + ["hard"] * 3)
    picks, counts = sample(questions, feedback, ratio=[1, 1, 2], num_new=40, classification=True, seed=0)
    levels = Counter(level for _, _, level in picks)
    assert levels == {"easy": 10, "medium": 10, "hard": 20}
    assert all(harder == (level == "easy") for _, harder, level in picks)
    assert counts["sampled_hard"] == 20


def test_sample_is_deterministic_and_falls_back_when_ratio_levels_are_empty():
    questions, feedback = _world(["easy"] * 4)
    a, _ = sample(questions, feedback, ratio=[0, 0, 4], num_new=6, classification=True, seed=3)
    b, counts = sample(questions, feedback, ratio=[0, 0, 4], num_new=6, classification=True, seed=3)
    assert [q["id"] for q, _, _ in a] == [q["id"] for q, _, _ in b]
    assert counts["fallback"] == 6 and len(a) == 6


def test_without_classification_sampling_ignores_levels():
    questions, feedback = _world(["unclassified"] * 5)
    picks, counts = sample(questions, feedback, ratio=[1, 1, 2], num_new=8, classification=False, seed=0)
    assert len(picks) == 8 and counts == {"random": 8}


def test_dedupe_ignores_case_and_whitespace():
    kept, dropped = dedupe([{"question": "Add  TWO numbers"}, {"question": "new one"}], [{"question": "add two numbers"}])
    assert [q["question"] for q in kept] == ["new one"] and dropped == 1
