"""seedrandom's ARC4 stream (the `Math.seedrandom(seed)` TF Playground calls), in Python.

Written from seedrandom's published description (David Bau, seedrandom 2.4): the seed string is
mixed into a key ("mixkey"), an RC4 state is keyed with it and its first 256 bytes are thrown
away; each double takes 6 bytes and then one more byte at a time until 52 bits of mantissa are
filled, scaled down so the result is uniform in [0, 1).
"""

from __future__ import annotations

WIDTH = 256
MASK = WIDTH - 1
START_DENOM = float(WIDTH**6)  # the first 6 bytes
SIGNIFICANCE = float(2**52)
OVERFLOW = float(2**53)


def mixkey(seed: str) -> list[int]:
    """seedrandom's key from a seed string: its UTF-16 code units smeared into 256 bytes."""
    units = seed.encode("utf-16-le")
    codes = [units[i] | (units[i + 1] << 8) for i in range(0, len(units), 2)]
    key: list[int] = []
    smear = 0
    for j, code in enumerate(codes):
        idx = j & MASK
        # An unset key byte reads as undefined in JS; `undefined * 19` xors in as 0.
        old = key[idx] if idx < len(key) else 0
        smear ^= old * 19
        value = MASK & (smear + code)
        if idx < len(key):
            key[idx] = value
        else:
            key.append(value)
    return key


class Arc4:
    """The RC4 byte stream keyed as seedrandom keys it."""

    def __init__(self, key: list[int]) -> None:
        if not key:
            key = [0]  # seedrandom keys an empty seed with a single 0 byte
        s = list(range(WIDTH))
        j = 0
        n = len(key)
        for i in range(WIDTH):
            t = s[i]
            j = MASK & (j + key[i % n] + t)
            s[i] = s[j]
            s[j] = t
        self.s, self.i, self.j = s, 0, 0
        self.bytes(WIDTH)  # RC4-drop[256], as seedrandom does

    def bytes(self, count: int) -> int:
        """The next `count` bytes as one big-endian integer."""
        s, i, j = self.s, self.i, self.j
        r = 0
        for _ in range(count):
            i = MASK & (i + 1)
            t = s[i]
            j = MASK & (j + t)
            s[i] = s[j]
            s[j] = t
            r = r * WIDTH + s[MASK & (s[i] + s[j])]
        self.i, self.j = i, j
        return r


class SeedRandom:
    """`Math.random` after `Math.seedrandom(seed)`: doubles in [0, 1), 52 random bits each."""

    def __init__(self, seed: str) -> None:
        self.arc4 = Arc4(mixkey(seed))

    def random(self) -> float:
        # Float arithmetic on purpose: it mirrors the JS doubles step for step.
        n = float(self.arc4.bytes(6))
        d = START_DENOM
        x = 0
        while n < SIGNIFICANCE:
            n = (n + x) * WIDTH
            d *= WIDTH
            x = self.arc4.bytes(1)
        while n >= OVERFLOW:
            n /= 2
            d /= 2
            x >>= 1
        return (n + x) / d

    __call__ = random
