"""What a command works with, made once by the command line and passed down."""
from __future__ import annotations

import sys
from dataclasses import dataclass

from .build import Toolchain
from .common import Lab, Style
from .manifest import Manifest, load


@dataclass(frozen=True)
class Context:
    lab: Lab
    manifest: Manifest
    style: Style        # colour on a terminal only

    def toolchain(self) -> Toolchain:
        """The compilers (asks pkg-config: only commands that build call it)."""
        return Toolchain.from_env()

    @staticmethod
    def here() -> "Context":
        lab = Lab.here()
        return Context(lab=lab, manifest=load(lab.root), style=Style.for_stream(sys.stdout))
