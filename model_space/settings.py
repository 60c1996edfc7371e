"""Configuration of the Space, from ``MODEL_SPACE_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SpaceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MODEL_SPACE_")

    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=1, le=65535)
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1, description="file size")
    max_pixels: int = Field(default=40_000_000, ge=1, description="decoded pixels per image")
    concurrency: int = Field(default=2, ge=1, description="detections run at once")
