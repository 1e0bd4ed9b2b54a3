"""Learning-rate schedules shared by the supernet's training and the fine-tuning."""

from __future__ import annotations

import math


def cosine_decay(progress: float, base: float) -> float:
    """`base` decayed along half a cosine to 0 as `progress` goes from 0 to 1 (clamped)."""
    return base * 0.5 * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))
