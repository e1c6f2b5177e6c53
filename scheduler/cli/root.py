"""The root command group: global options accepted after the command too, and help without `<bool>`.

Click only parses a group's options before the subcommand's name, so
`mediawatch status --config x.toml` was refused ("No such option: --config"),
although that is how git, docker or systemctl users type it. `RootGroup` copies the
global options onto the command it resolves (and onto every command of a resolved
group), as a "Global options" panel of that command's help. Given after the command,
they change the same `Options` the root callback filled in; a second, different
`--config` is a usage error rather than a silent choice.

typer 0.29 prints a type for every option in its rich help, so flags read
`--serve <bool>`; `TyperOption.display_type_rich` is wrapped to print none for flags,
as its plain-text help already does; an argument's metavar is printed as written, in the
usage line and without a type beside it. And the option parser of typer's copy of click
is wrapped so that every usage error it raises names the command it was parsing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import typer
import typer.core
from typer._click import parser as click_parser
from typer._click.exceptions import UsageError

from scheduler.cli.common import not_empty, options
from scheduler.logs import LOG_LEVELS, configure_logging

GLOBAL_PANEL = "Global options"


def _display_type_rich(original: Callable[..., str | None]) -> Callable[..., str | None]:
    def display_type_rich(self: typer.core.TyperOption, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None  # a flag takes no value: `--serve`, not `--serve <bool>`
        return original(self, ctx)

    return display_type_rich


if not getattr(typer.core.TyperOption.display_type_rich, "_flags_untyped", False):
    typer.core.TyperOption.display_type_rich = _display_type_rich(  # type: ignore[method-assign]
        typer.core.TyperOption.display_type_rich
    )
    typer.core.TyperOption.display_type_rich._flags_untyped = True  # type: ignore[attr-defined]


def _usage_display_name(original: Callable[..., str]) -> Callable[..., str]:
    def usage_display_name(self: typer.core.TyperArgument) -> str:
        if self.metavar is not None:
            return self.metavar  # written for the usage line already: `FILE_OR_URL...`, `[FILE|-]`
        return original(self)

    return usage_display_name


def _argument_type_rich(original: Callable[..., str | None]) -> Callable[..., str | None]:
    def display_type_rich(self: typer.core.TyperArgument, ctx: Any) -> str | None:
        if self.metavar is not None:
            return None  # the metavar says what it takes, as an option's does: no `<list[str]>` beside it
        return original(self, ctx)

    return display_type_rich


# typer 0.29 wraps an argument's name in braces (required) or brackets (optional) and adds "..."
# for several, also around a metavar written that way: `extract [OPTIONS] {FILE_OR_URL...}...`,
# `classify [OPTIONS] [[FILE|-]]`. A metavar is printed as written, as click did.
if not getattr(typer.core.TyperArgument._usage_display_name, "_metavar_as_written", False):
    typer.core.TyperArgument._usage_display_name = _usage_display_name(  # type: ignore[method-assign]
        typer.core.TyperArgument._usage_display_name
    )
    typer.core.TyperArgument._usage_display_name._metavar_as_written = True  # type: ignore[attr-defined]
    typer.core.TyperArgument.display_type_rich = _argument_type_rich(  # type: ignore[method-assign]
        typer.core.TyperArgument.display_type_rich
    )


def _parse_args_with_context(original: Callable[..., Any]) -> Callable[..., Any]:
    def parse_args(self: Any, args: list[str]) -> Any:
        try:
            return original(self, args)
        except UsageError as exc:
            if exc.ctx is None and self.ctx is not None:  # "Option '--limit' requires an argument."
                exc.ctx, exc.cmd = self.ctx, self.ctx.command
            raise

    return parse_args


# click's option parser raises some usage errors (an option without its value) without the
# command's context, so they named the root: "mediawatch: …", "Try 'mediawatch --help'".
if not getattr(click_parser._OptionParser.parse_args, "_with_context", False):
    click_parser._OptionParser.parse_args = _parse_args_with_context(  # type: ignore[method-assign]
        click_parser._OptionParser.parse_args
    )
    click_parser._OptionParser.parse_args._with_context = True  # type: ignore[attr-defined]


def _given(ctx: Any, param: Any) -> bool:
    source = ctx.get_parameter_source(param.name)
    return source is not None and source.name == "COMMANDLINE"


def _late_config(ctx: Any, param: Any, value: str | None) -> None:
    if value is None or not _given(ctx, param):
        return
    not_empty(value)
    given = options(ctx)
    if given.config_path is not None and given.config_path != value:
        raise typer.BadParameter(
            f"two configuration files, {given.config_path!r} and {value!r}: give one", param_hint="'--config'"
        )
    given.config_path = value


def check_log_level(value: str) -> str:
    if value.lower() not in LOG_LEVELS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(LOG_LEVELS)}")
    return value.lower()


def _late_log_level(ctx: Any, param: Any, value: str) -> None:
    if _given(ctx, param):
        given = options(ctx)
        given.log_level = check_log_level(value)
        configure_logging(given.log_level, json_lines=given.log_json)


def _late_log_json(ctx: Any, param: Any, value: bool) -> None:
    if _given(ctx, param):
        given = options(ctx)
        given.log_json = bool(value)
        configure_logging(given.log_level, json_lines=given.log_json)


# The root callback's parameters that may follow the command, and what each late copy does.
_LATE: dict[str, Callable[..., None]] = {
    "config": _late_config,
    "log_level": _late_log_level,
    "log_json": _late_log_json,
}


class OutputClosed(Exception):
    """Standard output's reader went away (`mediawatch articles --json | head -1`): not a failure.

    Not an OSError, so that click lets it through: click turns a BrokenPipeError into
    a silent exit 1 of its own, where `scheduler.cli.main` ends with 0 as other tools do.
    """


class RootGroup(typer.core.TyperGroup):
    """`mediawatch`: its global options may also follow the command's name."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise OutputClosed() from exc

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            _accept_global_options(command, [p for p in self.params if p.name in _LATE])
        return name, command, rest


def _accept_global_options(command: Any, params: list[Any]) -> None:
    taken = {p.name for p in command.params} | {opt for p in command.params for opt in p.opts}
    for param in params:
        if param.name in taken or any(opt in taken for opt in param.opts):
            continue  # the command has an option of that name: its own wins
        late = copy.copy(param)
        late.callback = _LATE[param.name]
        late.expose_value = False
        late.is_eager = False
        late.rich_help_panel = GLOBAL_PANEL
        command.params.append(late)
    for sub in getattr(command, "commands", {}).values():
        _accept_global_options(sub, params)
