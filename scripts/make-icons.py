#!/usr/bin/env python3
"""Draws the app icon (a white shield with a keyhole on a teal rounded
square) as RGBA PNGs in icons/: Tauri needs RGBA, and drawing it here keeps
the artwork reproducible without an image editor. Standard library only."""
import math
import struct
import zlib
from pathlib import Path

TEAL = (17, 94, 89)
WHITE = (255, 255, 255)


def inside_rounded_square(x, y, radius=0.2):
    qx, qy = abs(x - 0.5) - (0.5 - radius), abs(y - 0.5) - (0.5 - radius)
    outside = math.hypot(max(qx, 0), max(qy, 0))
    return outside + min(max(qx, qy), 0) <= radius


def inside_shield(x, y):
    # Flat top from y=0.2, straight sides to y=0.5, then curving to a point at y=0.84.
    if y < 0.2 or y > 0.84:
        return False
    half = 0.28 if y <= 0.5 else 0.28 * math.sqrt(max(0.0, 1 - ((y - 0.5) / 0.34) ** 2))
    return abs(x - 0.5) <= half


def inside_keyhole(x, y):
    return math.hypot(x - 0.5, y - 0.43) <= 0.07 or (abs(x - 0.5) <= 0.03 and 0.43 <= y <= 0.62)


def pixel(px, py, size, samples=4):
    coverage_bg = coverage_fg = 0
    for sx in range(samples):
        for sy in range(samples):
            x, y = (px + (sx + 0.5) / samples) / size, (py + (sy + 0.5) / samples) / size
            if inside_rounded_square(x, y):
                coverage_bg += 1
                if inside_shield(x, y) and not inside_keyhole(x, y):
                    coverage_fg += 1
    n = samples * samples
    if coverage_bg == 0:
        return (0, 0, 0, 0)
    t = coverage_fg / coverage_bg
    rgb = tuple(round(TEAL[i] * (1 - t) + WHITE[i] * t) for i in range(3))
    return rgb + (round(255 * coverage_bg / n),)


def png(size):
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(px, py, size)) for px in range(size)) for py in range(size))
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "icons"
    out.mkdir(exist_ok=True)
    for name, size in [("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)]:
        (out / name).write_bytes(png(size))
        print(out / name)
