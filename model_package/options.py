"""The detection options every entry point accepts, validated in one place."""

from __future__ import annotations

from dataclasses import dataclass

from .labels import LABELS

MAX_DETECTIONS = 100


@dataclass(frozen=True)
class DetectOptions:
    """Post-processing choices; raises ValueError with a message fit for a user when invalid."""

    min_confidence: float = 0.5
    nms_iou: float = 0.5
    max_detections: int = MAX_DETECTIONS
    classes: frozenset[str] | None = None  # None: every label

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError("min_confidence must be between 0 and 1.")
        if not 0.0 <= self.nms_iou <= 1.0:
            raise ValueError("nms_iou must be between 0 and 1.")
        if not 1 <= self.max_detections <= MAX_DETECTIONS:
            raise ValueError(f"max_detections must be between 1 and {MAX_DETECTIONS}.")
        if self.classes is not None:
            unknown = sorted(self.classes - set(LABELS))
            if unknown:
                raise ValueError(
                    f"Unknown label(s) in classes: {', '.join(unknown)}. "
                    f"Valid labels: {', '.join(LABELS)}."
                )


def parse_classes(text: str | None) -> frozenset[str] | None:
    """``"person, dog"`` -> {"person", "dog"}; empty or None -> None (every label)."""
    names = frozenset(part.strip() for part in (text or "").split(",") if part.strip())
    return names or None
