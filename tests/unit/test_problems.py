"""flatten(): marshmallow's nested messages -> one list of messages per dotted field."""

from __future__ import annotations

from app.problems import flatten


def test_top_level_fields_keep_their_names() -> None:
    assert flatten({"reportType": ["Missing data for required field."]}) == {
        "reportType": ["Missing data for required field."]
    }


def test_nested_parameters_become_dotted_names() -> None:
    messages = {"parameters": {"year": ["Not a valid integer."], "x": ["Unknown field."]}}
    assert flatten(messages) == {
        "parameters.year": ["Not a valid integer."],
        "parameters.x": ["Unknown field."],
    }


def test_schema_level_messages_belong_to_the_body_or_their_parent() -> None:
    # Given a whole-body error and a schema-level error inside `parameters`
    messages = {"_schema": ["Invalid input type."], "parameters": {"_schema": ["Bad range."]}}
    # Then the first is the body's, the second the `parameters` field's
    assert flatten(messages) == {"_body": ["Invalid input type."], "parameters": ["Bad range."]}


def test_messages_for_the_same_field_are_merged() -> None:
    messages = {"parameters": {"_schema": ["One."], "to": ["Two."]}, "_schema": ["Three."]}
    flat = flatten(messages)
    assert flat == {"parameters": ["One."], "parameters.to": ["Two."], "_body": ["Three."]}


def test_list_items_are_numbered() -> None:
    messages = {"items": {0: {"name": ["Required."]}, 2: ["Not a string."]}}
    assert flatten(messages) == {"items.0.name": ["Required."], "items.2": ["Not a string."]}


def test_lists_of_dicts_are_numbered_by_position() -> None:
    assert flatten({"rows": [{"a": ["x"]}, {"b": ["y"]}]}) == {
        "rows.0.a": ["x"],
        "rows.1.b": ["y"],
    }


def test_a_bare_message_is_the_bodys() -> None:
    assert flatten("Invalid JSON.") == {"_body": ["Invalid JSON."]}
    assert flatten(["Invalid JSON."]) == {"_body": ["Invalid JSON."]}


def test_non_string_messages_become_strings() -> None:
    flat = flatten({"a": {"b": {"c": ["deep"]}}, "n": [1]})
    assert flat == {"a.b.c": ["deep"], "n.0": ["1"]}
