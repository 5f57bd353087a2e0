"""Typed dependencies of the inspector's routes (and of the control plane's live-view
endpoints): the change feed and the read-only listings, which ``create_app`` puts on the
FastAPI app's ``state`` as ``changes`` and ``listings``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from emulator.changes import Changes
from emulator.store.listings import Listings

__all__ = ["ChangesDep", "ListingsDep"]


def get_changes(request: Request) -> Changes:
    changes: Changes = request.app.state.changes
    return changes


def get_listings(request: Request) -> Listings:
    listings: Listings = request.app.state.listings
    return listings


ChangesDep = Annotated[Changes, Depends(get_changes)]
ListingsDep = Annotated[Listings, Depends(get_listings)]
