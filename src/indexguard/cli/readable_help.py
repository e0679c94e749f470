"""Help a person can read: metavars such as FILE, URL and N instead of Typer's `<list[Path]>` or `<bool>`,
and docstrings whose hard line breaks do not split a sentence in the command list.

Recent Typer renders a parameter's Python type in the help, ignores an argument's metavar and shows `<bool>`
beside flags. `tidy` walks the command tree Typer builds and gives every parameter a readable label once,
so a command module names a metavar (`metavar="URL"`) only where the default by type would mislead."""

from __future__ import annotations

import datetime
import re
import types
from pathlib import Path
from typing import Any, get_args, get_origin

# Labels by the annotated Python type (or, on older Typer, click's type name); a declared metavar wins.
_BY_TYPE: dict[Any, str] = {Path: "FILE", int: "N", float: "NUMBER", str: "TEXT", datetime.datetime: "DATE"}
_BY_CLICK_NAME = {"path": "FILE", "integer": "N", "float": "NUMBER", "text": "TEXT", "datetime": "DATE"}
_LIST_LINE = re.compile(r"^\s*([-*•]|\d+[.)])\s")


def tidy(command: Any) -> Any:
    """Readable metavars and unbroken help for `command` (a Typer-built click command) and its subcommands."""
    command.help = join_lines(command.help)
    command.short_help = join_lines(command.short_help)
    for param in [*command.params, _help_option(command)]:
        if param is not None:
            _label(param)
    for sub in (getattr(command, "commands", None) or {}).values():
        tidy(sub)
    return command


def _help_option(command: Any) -> Any:
    """`--help`, which click creates apart from the declared parameters (and caches on recent versions)."""
    try:
        return command.get_help_option(command.context_class(command, info_name=command.name))
    except (AttributeError, TypeError):
        return None


def join_lines(text: str | None) -> str | None:
    """Join a docstring's wrapped lines inside each paragraph; list items and `\\b` blocks keep their breaks."""
    if not text:
        return text
    out = []
    for para in text.split("\n\n"):
        lines = para.split("\n")
        if para.lstrip().startswith("\b") or len(lines) == 1:
            out.append(para)
            continue
        joined = [lines[0].strip()]
        for line in lines[1:]:
            if _LIST_LINE.match(line):
                joined.append(line.strip())
            else:
                joined[-1] = f"{joined[-1]} {line.strip()}".strip()
        out.append("\n".join(joined))
    return "\n\n".join(out)


def readable_type(param: Any) -> str | None:
    """The label shown for `param`'s value: None for flags, its metavar, else a word from its type."""
    if any(getattr(param, a, False) for a in ("is_flag", "is_bool_flag", "count")):
        return None
    if param.metavar:
        return str(param.metavar)
    desc = getattr(param, "type_descriptor", None)
    if desc is None:
        ptype = getattr(param, "type", None)
        if getattr(ptype, "choices", None):
            return "|".join(str(c) for c in ptype.choices)  # type: ignore[union-attr]
        return _BY_CLICK_NAME.get(getattr(ptype, "name", "text"), "TEXT")
    if desc.choices:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices)
    ann = desc.annotation
    if get_origin(ann) is list:
        ann = get_args(ann)[0]
    info = desc.parameter_info
    if ann is Path and info.dir_okay and not info.file_okay:
        return "DIR"
    return _BY_TYPE.get(ann, "TEXT")


def _label(param: Any) -> None:
    if getattr(param, "param_type_name", "") == "argument":
        # An argument is named by its metavar in the usage line and the table; no separate type column.
        param.metavar = param.metavar or _argument_name(param)
        _override(param, None)
        return
    label = readable_type(param)
    if label is not None:
        param.metavar = label
    _override(param, label)


def _argument_name(param: Any) -> str:
    """INPUT for `inputs: list[str]` (the usage line adds `...`), FILE for `file`."""
    name = (param.name or "value").upper().replace("_", "-")
    if param.nargs != 1 and name.endswith("S") and len(name) > 2:
        name = name[:-1]
    return name


def _override(param: Any, label: str | None) -> None:
    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return label

    # Per instance, not per class: only the tree built for this command line changes.
    param.display_type_rich = types.MethodType(display_type_rich, param)
