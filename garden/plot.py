"""Tiny raster plots written as PNG with zlib and struct only (no plotting dependency).

Enough for the garden's diagnostic figures: axes, lines, dots. No text: each caller documents
what the colours and axes mean (in its docstring and in the report it writes next to the PNG).
"""
import struct
import zlib

import numpy as np

# Distinct colours for categories (cycled when there are more categories than colours).
PALETTE = np.array([
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
    (0, 0, 128), (128, 128, 0), (0, 128, 128), (128, 0, 128), (255, 215, 0), (0, 0, 0),
], np.uint8)


class Canvas:
    """An RGB image with data coordinates: x in [x0, x1], y in [y0, y1], y upwards."""

    def __init__(self, width=480, height=480, x_range=(0.0, 1.0), y_range=(0.0, 1.0),
                 margin=20):
        self.pixels = np.full((height, width, 3), 255, np.uint8)
        self.width, self.height, self.margin = width, height, margin
        self.x_range, self.y_range = x_range, y_range

    def to_pixel(self, x, y):
        (x0, x1), (y0, y1), m = self.x_range, self.y_range, self.margin
        px = m + (np.asarray(x, float) - x0) / max(x1 - x0, 1e-12) * (self.width - 2 * m - 1)
        py = (self.height - 1 - m) - (np.asarray(y, float) - y0) / max(y1 - y0, 1e-12) * (
            self.height - 2 * m - 1)
        return np.round(px).astype(int), np.round(py).astype(int)

    def _put(self, px, py, color):
        px, py = np.atleast_1d(px), np.atleast_1d(py)
        keep = (px >= 0) & (px < self.width) & (py >= 0) & (py < self.height)
        self.pixels[py[keep], px[keep]] = color

    def axes(self, color=(0, 0, 0)):
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        self.line([x0, x1], [y0, y0], color)
        self.line([x0, x0], [y0, y1], color)

    def line(self, xs, ys, color, width=1):
        """A polyline through the data points (xs, ys)."""
        px, py = self.to_pixel(xs, ys)
        for i in range(len(px) - 1):
            steps = max(abs(px[i + 1] - px[i]), abs(py[i + 1] - py[i]), 1)
            t = np.linspace(0, 1, steps + 1)
            lx = np.round(px[i] + t * (px[i + 1] - px[i])).astype(int)
            ly = np.round(py[i] + t * (py[i + 1] - py[i])).astype(int)
            for d in range(-(width // 2), width - width // 2):
                self._put(lx + d, ly, color)
                self._put(lx, ly + d, color)

    def dots(self, xs, ys, colors, radius=2):
        """Filled squares of side 2*radius+1 at (xs, ys); colors: one RGB or one per dot."""
        px, py = self.to_pixel(xs, ys)
        colors = np.broadcast_to(np.asarray(colors, np.uint8), (len(px), 3))
        for dx in range(-radius, radius + 1):
            for dy in range(-radius, radius + 1):
                keep = (px + dx >= 0) & (px + dx < self.width) & (py + dy >= 0) & (
                    py + dy < self.height)
                self.pixels[(py + dy)[keep], (px + dx)[keep]] = colors[keep]

    def save(self, path):
        write_png(path, self.pixels)


def write_png(path, pixels):
    """Writes an [H, W, 3] uint8 array as an 8-bit RGB PNG."""
    pixels = np.ascontiguousarray(pixels, np.uint8)
    height, width, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))  # filter: none

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                          0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def read_png_size(path):
    """(width, height) from a PNG's header (for tests and sanity checks)."""
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    return struct.unpack(">II", head[16:24])
