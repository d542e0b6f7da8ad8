"""The one way a setting is read from the environment (pydantic-settings), shared by the app's
``Settings`` and the local stack's ``Config``.

Each field names its variable explicitly (``variable("COMANDA_X", default)``), so a grep for the
variable finds the field. An empty variable means "use the default", as an unset one does.
``Model()`` is the defaults alone; ``Model.from_env()`` reads the environment, and a value
that does not parse is a ``ConfigError`` naming the variable.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict


class ConfigError(RuntimeError):
    """Raised when the environment cannot run the service safely."""


def variable(name: str, default: Any = None, **kwargs: Any) -> Any:
    """A field read from the environment variable ``name``."""
    return Field(default, validation_alias=name, **kwargs)


class EnvSettings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True,
        populate_by_name=True,  # Model(field=value) in tests, besides the variable names
        env_ignore_empty=True,
        case_sensitive=True,
        extra="ignore",
    )

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **_other_sources):
        # Constructing never reads the environment: from_env() does, explicitly.
        return (init_settings,)

    @classmethod
    def from_env(cls) -> Self:
        values = EnvSettingsSource(cls)()
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e.get('input')!r})"
                for e in exc.errors()
            )
            raise ConfigError(problems) from None

    def with_(self, **changes: Any) -> Self:
        """A copy with some fields changed (validated again)."""
        return type(self).model_validate(self.model_dump() | changes)

    def names(self) -> list[str]:
        return list(type(self).model_fields)
