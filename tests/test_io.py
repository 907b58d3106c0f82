import pytest

from soda.io import InputError, atomic_path, read_jsonl, write_jsonl


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path):
    target = tmp_path / "out.jsonl"
    write_jsonl(target, [{"a": 1}])
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert read_jsonl(target) == [{"a": 1}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_atomic_directory_replaces_whole(tmp_path):
    target = tmp_path / "model"
    for content in ("one", "two"):
        with atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / content).write_text(content)
    assert [p.name for p in target.iterdir()] == ["two"]


def test_bad_jsonl_names_the_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": \n')
    with pytest.raises(InputError, match=r"x.jsonl:2"):
        read_jsonl(path)
    path.write_bytes(b'[1, 2]\n')
    with pytest.raises(InputError, match=r"x.jsonl:1: expected a JSON object"):
        read_jsonl(path)
