"""One evaluation for the .drv paths of several checks, with the real nix."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ref, requires_nix
from vmtest.nix import commands
from vmtest.nix.argv import NixOptions, nix_string

pytestmark = requires_nix

FLAKE = """{
  outputs = { self }: {
    checks.x86_64-linux = let
      mk = name: derivation { inherit name; system = "x86_64-linux"; builder = "/bin/sh"; };
    in {
      a = mk "a";
      "odd \\"name\\" \\${x}" = mk "odd";
      throws = throw "not this one";
      broken = (mk "broken").nosuch;
    };
  };
}
"""


@pytest.fixture
def flake(tmp_path: Path, nix_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in nix_env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "flake.nix").write_text(FLAKE)
    return tmp_path / "f"


def test_paths_come_in_the_order_asked_and_a_throw_is_only_its_own(flake: Path) -> None:
    names = ["throws", 'odd "name" ${x}', "a"]
    paths, done = commands.drv_paths(ref(flake), "checks.x86_64-linux", names, NixOptions(), 60)
    assert done.returncode == 0, done.stderr_tail
    assert paths is not None
    assert paths[0] is None
    assert paths[1] is not None and paths[1].endswith("-odd.drv")
    assert paths[2] is not None and paths[2].endswith("-a.drv")
    assert all(Path(p).exists() for p in paths[1:] if p)  # written, ready to build


def test_an_error_tryeval_cannot_catch_fails_the_whole_evaluation(flake: Path) -> None:
    paths, done = commands.drv_paths(
        ref(flake), "checks.x86_64-linux", ["a", "broken"], NixOptions(), 60
    )
    assert paths is None and done.returncode != 0


def test_nix_string_escapes_what_nix_would_read() -> None:
    assert nix_string('a"b\\c${d}$e') == '"a\\"b\\\\c\\${d}$e"'
