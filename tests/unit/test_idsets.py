import pytest

from connector.domain.idsets import IdSetError, chunks, format_id_set, parse_id_set


@pytest.mark.parametrize(("text", "ids"), [
    ("1007", [1007]),
    ("1000-1003", [1000, 1001, 1002, 1003]),
    ("1,5,9", [1, 5, 9]),
    ("1006-1008,1111,1200-1201", [1006, 1007, 1008, 1111, 1200, 1201]),
    (" 5 , 3-4 ", [3, 4, 5]),
    ("7,7,6-8", [6, 7, 8]),
])
def test_parse_id_set(text, ids):
    assert parse_id_set(text) == ids


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "empty"),
    ("1,,2", "empty element"),
    ("10-5", "'10-5'"),
    ("abc", "'abc'"),
    ("0", "'0'"),
    ("1-2-3", "'1-2-3'"),
])
def test_parse_id_set_errors_name_the_bad_element(text, fragment):
    with pytest.raises(IdSetError, match=fragment):
        parse_id_set(text)


def test_parse_id_set_refuses_huge_ranges():
    with pytest.raises(IdSetError, match="more than 10"):
        parse_id_set("1-11", max_ids=10)


def test_format_compresses_runs_and_round_trips():
    ids = [5, 1, 2, 3, 9, 10, 12]
    assert format_id_set(ids) == "1-3,5,9-10,12"
    assert parse_id_set(format_id_set(ids)) == sorted(ids)
    assert format_id_set([]) == ""


def test_chunks_are_sorted_unique_and_bounded():
    got = list(chunks([5, 3, 3, 1, 2, 4], 2))
    assert got == [[1, 2], [3, 4], [5]]
    with pytest.raises(ValueError):
        list(chunks([1], 0))
