"""``depfree`` entry point: a click group with one subcommand per module in this package."""

from __future__ import annotations

import click

from depfree import __version__
from depfree.cli.check import check_cmd
from depfree.cli.demo import demo_cmd
from depfree.cli.hardening import hardening_cmd
from depfree.cli.inspect import inspect_cmd
from depfree.cli.size import size_cmd
from depfree.cli.verify import verify_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="depfree")
def cli() -> None:
    """What a compiled program needs from the machine it lands on, whether it will run there, and the proof."""


cli.add_command(inspect_cmd)
cli.add_command(demo_cmd)
cli.add_command(size_cmd)
cli.add_command(check_cmd)
cli.add_command(hardening_cmd)
cli.add_command(verify_cmd)


def main() -> None:
    cli(prog_name="depfree")
