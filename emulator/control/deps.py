"""Typed dependencies of the control-plane routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

if TYPE_CHECKING:
    from emulator.app import Emulator

__all__ = ["EmulatorDep", "get_emulator"]


def get_emulator(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


EmulatorDep = Annotated["Emulator", Depends(get_emulator)]
