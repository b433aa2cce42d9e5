"""Input transforms of relative-abundance profiles for the embedding models.

Each transform maps a samples x taxa array of relative abundances (fractions, rows summing
to at most 1) to the model's input space, and is described by a small JSON-able dict that
is saved with the model.

``log10``
    ``log10(max(x, floor)) + 2`` with the detection floor ``1e-4`` (0.01 %): absent taxa
    become -2, a taxon at 100 % becomes 2. The transform used by MBEmbed (Zahavi et al.
    2025) and close to the "log relative abundance" of the field's baselines.
``log10_zeros``
    MBEmbed's published preprocessing exactly: zeros are replaced by the floor, other
    values are kept even below it, then ``log10(x) + 2``. Used to import their encoder.
``clr``
    Centred log-ratio (Aitchison 1986) of the profile with values below the floor raised to
    it: ``ln(x_i) - mean_j ln(x_j)``, computed with :func:`skbio.stats.composition.clr`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

TransformName = Literal["log10", "log10_zeros", "clr"]
TRANSFORMS: tuple[str, ...] = ("log10", "log10_zeros", "clr")

DEFAULT_FLOOR = 1e-4
"""Detection floor of relative abundance (0.01 %), below which a taxon counts as absent."""


@dataclass(frozen=True)
class AbundanceTransform:
    """A named transform of relative abundances with its detection floor.

    Parameters
    ----------
    name
        One of :data:`TRANSFORMS`.
    floor
        Detection floor (fraction) applied before taking logarithms.

    Examples
    --------
    >>> t = AbundanceTransform("log10")
    >>> t(np.array([[0.0, 0.01, 1.0]])).round(3).tolist()
    [[-2.0, 0.0, 2.0]]
    """

    name: TransformName = "log10"
    floor: float = DEFAULT_FLOOR

    def __post_init__(self) -> None:
        if self.name not in TRANSFORMS:
            raise ValueError(f"unknown transform {self.name!r}; expected one of {TRANSFORMS}")
        if not 0.0 < self.floor < 1.0:
            raise ValueError(f"detection floor must be in (0, 1), got {self.floor}")

    def __call__(self, fractions: np.ndarray) -> np.ndarray:
        """Transform a samples x taxa array of fractions; returns float32."""
        x = np.asarray(fractions, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"expected a samples x taxa matrix, got shape {x.shape}")
        if np.any(x < 0) or not np.all(np.isfinite(x)):
            raise ValueError("relative abundances must be finite and non-negative")
        if self.name == "log10":
            out = np.log10(np.maximum(x, self.floor)) + 2.0
        elif self.name == "log10_zeros":
            out = np.log10(np.where(x == 0.0, self.floor, x)) + 2.0
        else:
            from skbio.stats.composition import clr

            out = clr(np.maximum(x, self.floor))
        return np.asarray(out, dtype=np.float32)

    @property
    def absent_value(self) -> float | None:
        """Value an absent taxon takes (``None`` for CLR, where it depends on the sample)."""
        if self.name in ("log10", "log10_zeros"):
            return float(np.log10(self.floor) + 2.0)
        return None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> AbundanceTransform:
        return cls(name=spec["name"], floor=float(spec["floor"]))
