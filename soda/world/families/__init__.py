"""Importing this package registers every family in soda.world.family.FAMILIES."""

from soda.world.families import lists, misc, numbers, strings  # noqa: F401
