"""Who may do what: roles, passwords, tokens, sessions and the guards on every endpoint."""

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    RESTAURANT = "restaurant"
    ADMIN = "admin"
