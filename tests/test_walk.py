"""The one directory walk (``sources.tree.entries``) under scan, inspect DIR and hardening: the files it gives are
the regular files ``find -P`` lists, symbolic links never followed (a loop, an escape), in name order."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from depfree.api import expand_paths, files_under
from depfree.sources.tree import TreeFile, walk
from helpers.factory import Factory


def _find(root: Path, *args: str) -> list[str]:
    out = subprocess.run(["find", "-P", str(root), *args], check=True, capture_output=True, text=True).stdout
    return out.splitlines()


def _tree(tmp_path: Path, factory: Factory) -> Path:
    root = tmp_path / "t"
    (root / "b" / "deep").mkdir(parents=True)
    (root / "a").mkdir()
    shutil.copy2(factory.c("hello.c"), root / "b" / "deep" / "hello")
    shutil.copy2(factory.c("hello.c"), root / "top-hello")
    (root / "README").write_text("not a program\n")
    (root / "a" / "notes.txt").write_text("x\n")
    os.symlink("../..", root / "b" / "up")  # a loop a walk that follows links would never leave
    os.symlink("/usr/bin", root / "escape")
    os.symlink("top-hello", root / "link-to-hello")
    os.mkfifo(root / "a" / "fifo")
    return root


def test_files_under_are_the_regular_files_find_lists(tmp_path: Path, factory: Factory) -> None:
    root = _tree(tmp_path, factory)
    assert sorted(files_under(str(root))) == sorted(_find(root, "-type", "f"))
    assert sorted(files_under(str(root), recursive=False)) == sorted(_find(root, "-maxdepth", "1", "-type", "f"))
    walked = list(files_under(str(root)))
    assert walked[:2] == [str(root / "README"), str(root / "top-hello")]  # a directory's files, then its subdirs


def test_walk_counts_every_entry_and_keeps_the_programs(tmp_path: Path, factory: Factory) -> None:
    root = _tree(tmp_path, factory)
    items = list(walk(str(root), lambda path, why: None))
    programs = sorted(i.rel for i in items if isinstance(i, TreeFile))
    assert programs == ["/b/deep/hello", "/top-hello"]
    not_dirs = _find(root, "-mindepth", "1", "-not", "-type", "d")
    assert len(programs) + sum(i for i in items if isinstance(i, int)) == len(not_dirs)


def test_inspect_dir_keeps_the_programs(tmp_path: Path, factory: Factory) -> None:
    root = _tree(tmp_path, factory)
    files, errors = expand_paths([root])
    assert files == [str(root / "top-hello"), str(root / "b" / "deep" / "hello")] and errors == []
