"""The course's synthetic SIGNS renderer: hands drawn with NumPy alone.

Only exactly-rounded arithmetic and NumPy's frozen legacy RandomState, so the
same seed gives the same bytes on every machine. ``generate_signs`` makes the
data set (lesson 00, through ``load_dataset``); ``render_sign`` draws a new
hand at any size (lesson 03, "classify an image file").
"""

from __future__ import annotations

import numpy as np

from resnet_course.constants import IMAGE_SHAPE, NUM_CLASSES


def _capsule(u: np.ndarray, v: np.ndarray, a: tuple[float, float], b: tuple[float, float], r: float) -> np.ndarray:
    """Signed distance from the points (u, v) to the segment a-b thickened by r."""
    pu, pv = u - a[0], v - a[1]
    bu, bv = b[0] - a[0], b[1] - a[1]
    h = np.clip((pu * bu + pv * bv) / (bu * bu + bv * bv), 0.0, 1.0)
    du, dv = pu - bu * h, pv - bv * h
    return np.sqrt(du * du + dv * dv) - r


def _rounded_box(u: np.ndarray, v: np.ndarray, half_w: float, half_h: float, r: float) -> np.ndarray:
    """Signed distance to a box centred at the origin with rounded corners."""
    qu = np.abs(u) - (half_w - r)
    qv = np.abs(v) - (half_h - r)
    outside = np.sqrt(np.maximum(qu, 0.0) ** 2 + np.maximum(qv, 0.0) ** 2)
    return outside + np.minimum(np.maximum(qu, qv), 0.0) - r


def _direction(t: float) -> tuple[float, float]:
    """(cos, sin) of the angle 2*atan(t), by arithmetic alone (no libm)."""
    d = 1.0 + t * t
    return (1.0 - t * t) / d, 2.0 * t / d


def _blur(img: np.ndarray) -> np.ndarray:
    """One pass of the separable [1, 2, 1] / 4 kernel, edges replicated."""
    p = np.pad(img, ((1, 1), (1, 1), (0, 0)), mode="edge")
    h = (p[:, :-2] + 2.0 * p[:, 1:-1] + p[:, 2:]) * 0.25
    return (h[:-2] + 2.0 * h[1:-1] + h[2:]) * 0.25


def _upsample(grid: np.ndarray, n: int) -> np.ndarray:
    """Bilinear upsampling of a ``(g, g, c)`` grid to ``(n, n, c)``."""
    g = grid.shape[0]
    pos = (np.arange(n) + 0.5) * ((g - 1) / n)
    i0 = np.minimum(pos.astype(np.int64), g - 2)
    f = pos - i0
    rows = grid[i0] * (1.0 - f)[:, None, None] + grid[i0 + 1] * f[:, None, None]
    return rows[:, i0] * (1.0 - f)[None, :, None] + rows[:, i0 + 1] * f[None, :, None]


# Hand geometry in "hand units" (the palm is about 0.6 wide): base point,
# length and tilt of the index, middle, ring and little finger.
_FINGER_BASES = ((-0.22, 0.22), (-0.075, 0.25), (0.075, 0.25), (0.22, 0.22))


_FINGER_LENGTHS = (0.56, 0.64, 0.60, 0.48)


_FINGER_TILTS = (-0.30, -0.10, 0.10, 0.30)


# Which fingers are raised (0 is the thumb, 1 the index ... 4 the little
# finger) for each count: one sign per class, index finger first, as in the
# original SIGNS photos (two counting styles per class made the set much
# slower to learn than the photos; see README, "the synthetic set").
_RAISED: tuple[frozenset[int], ...] = (
    frozenset(),
    frozenset({1}),
    frozenset({1, 2}),
    frozenset({1, 2, 3}),
    frozenset({1, 2, 3, 4}),
    frozenset({0, 1, 2, 3, 4}),
)


_LIGHT_SKIN = np.array([0.96, 0.80, 0.69])


_DARK_SKIN = np.array([0.38, 0.24, 0.16])


def _wall(rs: np.random.RandomState) -> np.ndarray:
    """A background colour: a plain wall, grey from mid to light, slightly tinted (like the photos' walls)."""
    return rs.random_sample() * 0.55 + 0.4 + (rs.random_sample(3) - 0.5) * 0.12


def _render_sign(count: int, rs: np.random.RandomState, size: int = IMAGE_SHAPE[0]) -> np.ndarray:
    """Draw one ``size`` x ``size`` RGB hand showing ``count`` fingers; returns uint8."""
    n = size
    zoom = n / IMAGE_SHAPE[0]  # exactly 1.0 at 64x64, so the course data stays byte-identical
    ys, xs = np.mgrid[0:n, 0:n] + 0.5
    # Skin tone, and a wall colour that differs from it.
    skin_t = rs.random_sample()
    skin = _LIGHT_SKIN * (1 - skin_t) + _DARK_SKIN * skin_t
    skin = np.clip(skin + (rs.random_sample(3) - 0.5) * 0.08, 0.0, 1.0)
    bg = _wall(rs)
    while np.abs(bg - skin).sum() <= 0.3:
        bg = _wall(rs)
    texture = _upsample(rs.random_sample((5, 5, 3)) - 0.5, n) * (rs.random_sample() * 0.12)
    g = rs.random_sample(2) - 0.5
    gradient = ((xs - n / 2) * g[0] + (ys - n / 2) * g[1]) / n * (rs.random_sample() * 0.2)
    img = bg[None, None, :] + texture + gradient[:, :, None]

    # Pose: rotation (about +-15 degrees), scale, position, left or right hand.
    c, s = _direction((rs.random_sample() - 0.5) * 0.27)
    scale = (34.0 + rs.random_sample() * 6.0) * zoom  # pixels per hand unit
    cx = n / 2 + (rs.random_sample() - 0.5) * 8.0 * zoom
    cy = n * 0.6 + (rs.random_sample() - 0.5) * 8.0 * zoom
    mirror = 1.0 if rs.random_sample() < 0.5 else -1.0
    dx, dy = xs - cx, ys - cy
    u = (c * dx + s * dy) / scale * mirror
    v = (s * dx - c * dy) / scale
    light = rs.random_sample(2) - 0.5
    lighting = 0.9 + (dx * light[0] + dy * light[1]) / n * 0.6

    # Parts as (signed distance, half thickness), drawn back to front:
    # forearm (reaching past the image edge), palm, folded fingers, raised ones.
    spread = 0.7 + rs.random_sample() * 0.6
    raised = _RAISED[count]
    back = [
        (_capsule(u, v, (0.0, -0.2), (0.0, -4.0), 0.24), 0.24),
        (_rounded_box(u, v, 0.30, 0.28, 0.12), 0.28),
    ]
    folded, extended = [], []
    for k, ((bu, bv), length, tilt) in enumerate(zip(_FINGER_BASES, _FINGER_LENGTHS, _FINGER_TILTS, strict=True)):
        r = 0.085 + rs.random_sample() * 0.01
        if k + 1 in raised:
            fc, fs = _direction(tilt * spread + (rs.random_sample() - 0.5) * 0.08)
            reach = length * (0.85 + rs.random_sample() * 0.3)
            extended.append((_capsule(u, v, (bu, bv), (bu + fs * reach, bv + fc * reach), r), r))
        else:  # a knuckle at the top of the palm
            folded.append((_capsule(u, v, (bu, bv - 0.04), (bu, bv + 0.02), r + 0.01), r))
    if 0 in raised:
        tc, ts = _direction(-0.45 - rs.random_sample() * 0.3)
        reach = 0.42 * (0.85 + rs.random_sample() * 0.3)
        extended.append((_capsule(u, v, (-0.28, -0.08), (-0.28 + ts * reach, -0.08 + tc * reach), 0.085), 0.085))
    else:  # the thumb folded across the palm
        folded.append((_capsule(u, v, (-0.28, -0.1), (-0.04, 0.02), 0.075), 0.075))

    for dist, half in back + folded + extended:
        coverage = np.clip(0.5 - dist * scale, 0.0, 1.0)[:, :, None]  # anti-aliased edge
        shade = (0.6 + 0.4 * np.clip(-dist / half * 1.6, 0.0, 1.0)) * lighting
        img = img * (1.0 - coverage) + skin[None, None, :] * shade[:, :, None] * coverage
    for _ in range(rs.randint(0, 2)):
        img = _blur(img)
    img = img + (rs.random_sample(img.shape) - 0.5) * (rs.random_sample() * 0.05)
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def generate_signs(per_class: int, seed: int = 0, split: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Render a balanced synthetic SIGNS set with NumPy alone.

    Each image is a hand (forearm from an image edge, palm, ``label`` raised
    fingers from the index on, the others folded as knuckles) with a random
    pose, scale, position, left or right hand, finger spread and length,
    skin tone, lighting, wall colour and texture, blur and noise.

    Args:
        per_class: images per class (6 classes).
        seed: base seed; the same ``(seed, split)`` gives byte-identical arrays
            on any machine.
        split: stream number, so train (0) and test (1) never share images.

    Returns:
        ``X`` of shape ``(6 * per_class, 64, 64, 3)`` uint8 and ``Y`` of shape
        ``(6 * per_class,)`` int64, in shuffled order.
    """
    if per_class < 1:
        raise ValueError(f"generate_signs: per_class must be at least 1, found {per_class}")
    labels = np.repeat(np.arange(NUM_CLASSES, dtype=np.int64), per_class)
    labels = labels[np.random.RandomState([seed, split]).permutation(labels.size)]
    images = np.stack([_render_sign(int(y), np.random.RandomState([seed, split, i])) for i, y in enumerate(labels)])
    return images, labels


def render_sign(count: int, seed: int, size: int = 256) -> np.ndarray:
    """A new synthetic hand showing ``count`` fingers at ``size`` x ``size`` pixels (uint8 RGB).

    Uses a random stream that the course's train and test sets never use.
    """
    if not 0 <= count < NUM_CLASSES:
        raise ValueError(f"render_sign: count must lie in 0..5, found {count}")
    return _render_sign(count, np.random.RandomState([seed, 99, count]), size=size)
