"""errors.first_line: what a one-line error quotes of an exception."""

from edgedistill.errors import FIRST_LINE_LIMIT, first_line


def test_first_line_is_the_first_line_cut_to_the_limit():
    assert first_line(ValueError("  bad value\nstack detail\n")) == "bad value"
    assert first_line(ValueError("x" * 500)) == "x" * FIRST_LINE_LIMIT
    assert first_line(ValueError("abcdef"), limit=3) == "abc"


def test_first_line_with_tail_keeps_the_end_where_a_library_puts_its_reason():
    assert first_line(RuntimeError("[Prefix] Load model from /a/long/path failed: bad proto\nmore"), 9, tail=True) \
        == "bad proto"


def test_an_empty_message_gives_the_type_name_not_an_index_error():
    assert first_line(KeyError()) == "KeyError"
    assert first_line(ValueError("")) == "ValueError"
    assert first_line(RuntimeError(" \n \n")) == "RuntimeError"
    assert first_line(RuntimeError(""), tail=True) == "RuntimeError"
