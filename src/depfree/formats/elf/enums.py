"""The tables of pyelftools' ``elftools.elf.enums`` that the ELF reader names values with (``ENUM_E_TYPE``,
``ENUM_E_MACHINE``, ``ENUM_P_TYPE_*``, ``ENUM_D_TAG_*``…), name -> number, with their integer entries only (the
``_default_`` entry of each is construct's, not a value). Read through the derived-data cache (``derived.py``,
keyed on pyelftools' version and its ``enums.py``): importing pyelftools' module brings in its construct package
(and with it ``pdb``), ~10 ms of every ``depfree`` process that reads an ELF file."""

from __future__ import annotations

import os

import elftools

from depfree.derived import derived

TABLES = ("ENUM_E_TYPE", "ENUM_E_MACHINE", "ENUM_EI_OSABI", "ENUM_P_TYPE_BASE", "ENUM_P_TYPE_ARM",
          "ENUM_P_TYPE_AARCH64", "ENUM_P_TYPE_MIPS", "ENUM_P_TYPE_RISCV", "ENUM_D_TAG_COMMON", "ENUM_D_TAG_SOLARIS")
MAPS = ("ENUMMAP_EXTRA_D_TAG_MACHINE",)  # machine name -> table
SOURCE = os.path.join(os.path.dirname(os.path.abspath(elftools.__file__)), "elf", "enums.py")


def _ints(table: dict[str, object]) -> dict[str, int]:
    return {k: v for k, v in table.items() if isinstance(v, int)}


def build() -> dict[str, dict[str, int] | dict[str, dict[str, int]]]:
    """The tables as pyelftools defines them, integer entries only."""
    from elftools.elf import enums

    out: dict[str, dict[str, int] | dict[str, dict[str, int]]] = {name: _ints(getattr(enums, name)) for name in TABLES}
    for name in MAPS:
        out[name] = {machine: _ints(table) for machine, table in getattr(enums, name).items()}
    return out


_tables = derived(f"elftools-enums-{elftools.__version__}", (SOURCE, os.path.abspath(__file__)), build)

ENUM_E_TYPE: dict[str, int] = _tables["ENUM_E_TYPE"]  # type: ignore[assignment]
ENUM_E_MACHINE: dict[str, int] = _tables["ENUM_E_MACHINE"]  # type: ignore[assignment]
ENUM_EI_OSABI: dict[str, int] = _tables["ENUM_EI_OSABI"]  # type: ignore[assignment]
ENUM_P_TYPE_BASE: dict[str, int] = _tables["ENUM_P_TYPE_BASE"]  # type: ignore[assignment]
ENUM_P_TYPE_ARM: dict[str, int] = _tables["ENUM_P_TYPE_ARM"]  # type: ignore[assignment]
ENUM_P_TYPE_AARCH64: dict[str, int] = _tables["ENUM_P_TYPE_AARCH64"]  # type: ignore[assignment]
ENUM_P_TYPE_MIPS: dict[str, int] = _tables["ENUM_P_TYPE_MIPS"]  # type: ignore[assignment]
ENUM_P_TYPE_RISCV: dict[str, int] = _tables["ENUM_P_TYPE_RISCV"]  # type: ignore[assignment]
ENUM_D_TAG_COMMON: dict[str, int] = _tables["ENUM_D_TAG_COMMON"]  # type: ignore[assignment]
ENUM_D_TAG_SOLARIS: dict[str, int] = _tables["ENUM_D_TAG_SOLARIS"]  # type: ignore[assignment]
ENUMMAP_EXTRA_D_TAG_MACHINE: dict[str, dict[str, int]] = _tables["ENUMMAP_EXTRA_D_TAG_MACHINE"]  # type: ignore[assignment]
