"""Colour arithmetic for checking themes: WCAG contrast, colour-vision simulation, CIE76 delta E.

Used by the tests that hold the built-in themes to their promises, and usable from docs or a
script to check a user theme:

    >>> from textual.color import Color
    >>> round(contrast_ratio(Color.parse("#ffffff"), Color.parse("#000000")), 1)
    21.0

Colours with an alpha channel are taken as opaque: theme colours are.
"""

from __future__ import annotations

import math
from typing import Literal, TypeAlias

from textual.color import Color

Deficiency: TypeAlias = Literal["deuteranopia", "protanopia", "tritanopia"]
Matrix: TypeAlias = tuple[
    tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]
]

# Machado, Oliveira and Fernandes (2009), "A Physiologically-based Model for Simulation of Color
# Vision Deficiency", severity 1.0 (dichromacy). The matrices act on linear RGB.
MACHADO_2009: dict[Deficiency, Matrix] = {
    "protanopia": (
        (0.152286, 1.052583, -0.204868),
        (0.114503, 0.786281, 0.099216),
        (-0.003882, -0.048116, 1.051998),
    ),
    "deuteranopia": (
        (0.367322, 0.860646, -0.227968),
        (0.280085, 0.672501, 0.047413),
        (-0.011820, 0.042940, 0.968881),
    ),
    "tritanopia": (
        (1.255528, -0.076749, -0.178779),
        (-0.078411, 0.930809, 0.147602),
        (0.004733, 0.691367, 0.303900),
    ),
}

# sRGB (D65) to CIE XYZ, and the D65 white point, for CIELAB.
_SRGB_TO_XYZ: Matrix = (
    (0.4124564, 0.3575761, 0.1804375),
    (0.2126729, 0.7151522, 0.0721750),
    (0.0193339, 0.1191920, 0.9503041),
)
_WHITE_D65 = (0.95047, 1.0, 1.08883)


def _to_linear(channel: int) -> float:
    """Undo the sRGB transfer curve of one 0-255 channel."""
    value = channel / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def _to_srgb(linear: float) -> int:
    """Apply the sRGB transfer curve to one linear channel, clipped to 0-255."""
    value = min(1.0, max(0.0, linear))
    encoded = value * 12.92 if value <= 0.0031308 else 1.055 * value ** (1 / 2.4) - 0.055
    return round(encoded * 255)


def _linear_rgb(color: Color) -> tuple[float, float, float]:
    return _to_linear(color.r), _to_linear(color.g), _to_linear(color.b)


def _apply(matrix: Matrix, vector: tuple[float, float, float]) -> tuple[float, float, float]:
    x, y, z = (sum(m * v for m, v in zip(row, vector, strict=True)) for row in matrix)
    return x, y, z


def relative_luminance(color: Color) -> float:
    """WCAG 2.x relative luminance, 0 (black) to 1 (white)."""
    red, green, blue = _linear_rgb(color)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: Color, second: Color) -> float:
    """WCAG 2.x contrast ratio of two colours, 1 to 21 (AA text 4.5, AAA text 7, graphics 3)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def simulate(color: Color, deficiency: Deficiency) -> Color:
    """How ``color`` looks to a dichromat (Machado 2009, severity 1.0)."""
    red, green, blue = (
        _to_srgb(value) for value in _apply(MACHADO_2009[deficiency], _linear_rgb(color))
    )
    return Color(red, green, blue)


def to_lab(color: Color) -> tuple[float, float, float]:
    """CIELAB (D65) coordinates of an sRGB colour."""
    xyz = _apply(_SRGB_TO_XYZ, _linear_rgb(color))

    def f(t: float) -> float:
        delta = 6 / 29
        return math.cbrt(t) if t > delta**3 else t / (3 * delta**2) + 4 / 29

    fx, fy, fz = (f(value / white) for value, white in zip(xyz, _WHITE_D65, strict=True))
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e76(first: Color, second: Color) -> float:
    """CIE76 colour difference: about 2.3 is just noticeable, 20 and more is plainly different."""
    return math.dist(to_lab(first), to_lab(second))
