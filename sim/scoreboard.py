"""Compare what a top produced with the golden model, and say where the
first difference is: which tile, which block, which position."""


def first_word_mismatch(got, want, lengths, word_width, lane=None, lanes=1):
    """None when ``got`` equals ``want`` (the golden words of one lane);
    otherwise a message naming the first differing word, its tile (the
    tile's number in the tensor) and byte offset in the tile. ``lengths``
    are the golden tile lengths of this lane."""
    nb = word_width // 8
    if got == want:
        return None
    n = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), min(len(got), len(want)))
    start, tile = 0, None
    for t, ln in enumerate(lengths):
        words = -(-ln // nb)
        if n < start + words:
            tile = t
            break
        start += words
    where = f"lane {lane} " if lane is not None else ""
    if tile is not None:
        tile_no = tile * lanes + (lane or 0)
        where += f"tile {tile_no}, byte {(n - start) * nb} of the tile"
    else:
        where += "past the last tile"
    if n >= len(got) or n >= len(want):
        return (f"word {n} ({where}): {len(got)} words out, the golden stream has "
                f"{len(want)}")
    return f"word {n} ({where}): expected {want[n]:#0{nb * 2 + 2}x}, got {got[n]:#0{nb * 2 + 2}x}"


def first_value_mismatch(got, want, tile_blocks):
    """None when the values ``got`` match ``want`` (dicts with ``data``,
    ``present``, ``last``; a ``data`` of None in ``want`` is block padding
    and free); otherwise a message with the value's tile, block and raster
    position in the block (row, column)."""
    for i, (g, w) in enumerate(zip(got, want)):
        if g["present"] != w["present"] or g["last"] != w["last"] or \
                (w["data"] is not None and g["data"] != w["data"]):
            block, pos = divmod(i, 64)
            return (f"value {i} (tile {block // tile_blocks}, block {block}, position "
                    f"{pos} = row {pos // 8} column {pos % 8}): expected {w}, got {g}")
    if len(got) != len(want):
        return f"{len(got)} values out, expected {len(want)}"
    return None
