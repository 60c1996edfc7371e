"""Gateway configuration, read from ``GATEWAY_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# api_gateway/ sits next to web_client/ in the repository.
_DEFAULT_WEB_DIR = Path(__file__).resolve().parent.parent / "web_client"


def _default_web_dir() -> Path | None:
    # A deployment that ships only the gateway has no web_client folder: serve nothing then.
    return _DEFAULT_WEB_DIR if _DEFAULT_WEB_DIR.is_dir() else None


class Settings(BaseSettings):
    """Every knob of the gateway; each one can be set as ``GATEWAY_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    space_url: str = "http://127.0.0.1:7860/"
    # How images travel to the Space: "base64" (/predict_base64, compact) or "bytelist" (the
    # documented /predict format, about 2.7 times the text; several times slower at 1 MP).
    space_wire: Literal["base64", "bytelist"] = "base64"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # Pages on other origins that may call the API. A list in env is JSON:
    # GATEWAY_CORS_ORIGINS='["https://example.org"]'.
    cors_origins: list[str] = ["http://127.0.0.1:8000", "http://localhost:8000"]
    upstream_timeout_s: float = Field(default=30.0, gt=0)
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    # Decoded size limit, checked from the image header before anything goes to the Space.
    max_pixels: int = Field(default=40_000_000, gt=0)
    # Calls to the Space running at once; one more is refused with 503 + Retry-After (no queue).
    max_in_flight: int = Field(default=8, gt=0)
    # Seconds a refused client is told to wait (the Retry-After header).
    retry_after_s: int = Field(default=1, ge=0)
    # How long the Space's label list is reused before it is asked for again.
    labels_cache_s: float = Field(default=300.0, ge=0)
    # Comma-separated API keys. Empty: the API is open (the local default).
    api_keys: SecretStr = SecretStr("")
    # Folder with the static page, served at "/". Empty value in env disables it.
    web_dir: Path | None = Field(default_factory=_default_web_dir)

    @property
    def api_key_list(self) -> tuple[str, ...]:
        """The configured keys, without blanks; empty when the API is open."""
        raw = self.api_keys.get_secret_value()
        return tuple(dict.fromkeys(k.strip() for k in raw.split(",") if k.strip()))

    @field_validator("web_dir", mode="before")
    @classmethod
    def _empty_means_none(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in {"", "none", "null"}:
            return None
        return value
