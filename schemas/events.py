"""Event types of the Responses stream, by name.

Code outside ``schemas/`` (the mock's stream writer, its faults, the
benchmark) takes event types from here instead of spelling them out, so a
renamed or added event is changed in one place. The set of terminal events
is ``stream.TERMINAL`` (the stream validator's); ``TERMINAL_BY_STATUS`` reads
it the other way round. ``tests/test_schemas.py`` checks that every name here
is an event type the profiles' ``event`` schemas know.
"""

from __future__ import annotations

from .stream import TERMINAL

CREATED = "response.created"
IN_PROGRESS = "response.in_progress"
QUEUED = "response.queued"
COMPLETED = "response.completed"
INCOMPLETE = "response.incomplete"
FAILED = "response.failed"
ERROR = "error"

OUTPUT_ITEM_ADDED = "response.output_item.added"
OUTPUT_ITEM_DONE = "response.output_item.done"
CONTENT_PART_ADDED = "response.content_part.added"
CONTENT_PART_DONE = "response.content_part.done"
OUTPUT_TEXT_DELTA = "response.output_text.delta"
OUTPUT_TEXT_DONE = "response.output_text.done"

#: OpenAI's reasoning family: summary parts with ``summary_index``.
REASONING_SUMMARY_PART_ADDED = "response.reasoning_summary_part.added"
REASONING_SUMMARY_PART_DONE = "response.reasoning_summary_part.done"
REASONING_SUMMARY_TEXT_DELTA = "response.reasoning_summary_text.delta"
REASONING_SUMMARY_TEXT_DONE = "response.reasoning_summary_text.done"
#: DashScope's reasoning family: ``reasoning_text`` deltas without ``content_index``.
REASONING_TEXT_DELTA = "response.reasoning_text.delta"
REASONING_TEXT_DONE = "response.reasoning_text.done"

FUNCTION_CALL_ARGUMENTS_DELTA = "response.function_call_arguments.delta"
FUNCTION_CALL_ARGUMENTS_DONE = "response.function_call_arguments.done"

#: Built-in tools: a web search's progress, and a code interpreter's code (streamed) and run.
WEB_SEARCH_CALL_IN_PROGRESS = "response.web_search_call.in_progress"
WEB_SEARCH_CALL_SEARCHING = "response.web_search_call.searching"
WEB_SEARCH_CALL_COMPLETED = "response.web_search_call.completed"
CODE_INTERPRETER_CALL_IN_PROGRESS = "response.code_interpreter_call.in_progress"
CODE_INTERPRETER_CALL_CODE_DELTA = "response.code_interpreter_call_code.delta"
CODE_INTERPRETER_CALL_CODE_DONE = "response.code_interpreter_call_code.done"
CODE_INTERPRETER_CALL_INTERPRETING = "response.code_interpreter_call.interpreting"
CODE_INTERPRETER_CALL_COMPLETED = "response.code_interpreter_call.completed"

#: The terminal event of a stream whose Response ends with this ``status``.
TERMINAL_BY_STATUS: dict[str, str] = {status: kind for kind, status in TERMINAL.items() if status is not None}

#: Every event type named above.
ALL: tuple[str, ...] = tuple(
    value for name, value in sorted(globals().items()) if name.isupper() and isinstance(value, str)
)
