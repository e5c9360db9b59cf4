"""The worked examples of docs/format.md, byte for byte, through the CLI."""
import pathlib
import re

import numpy as np
import pytest

from golden.__main__ import main

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "format.md"
EXAMPLE = re.compile(r"<!-- example (\d+) -->\n```text\n(.*?)```", re.S)


def examples():
    text = DOC.read_text()
    out = []
    for m in EXAMPLE.finditer(text):
        body = m.group(2)
        fields = {}
        key = None
        for line in body.splitlines():
            head = re.match(r"(\w+):\s*(.*)", line)
            if head:
                key = head.group(1)
                fields[key] = head.group(2)
            else:
                fields[key] += " " + line
        out.append((m.group(1), fields))
    return out


def make_input(spec):
    m = re.match(r"(u?int8) \(([\d, ]+)\) (.*)", spec)
    dtype, shape, values = m.group(1), tuple(int(v) for v in m.group(2).split(",")), m.group(3)
    if values.startswith("["):
        return np.array(eval(values), dtype=dtype).reshape(shape)
    assert values == "ramp 16 + 8 * row + 3 * column"
    r, c = np.mgrid[0:shape[-2], 0:shape[-1]]
    return np.broadcast_to(16 + 8 * r + 3 * c, shape).astype(dtype)


def hexbytes(s):
    return bytes(int(b, 16) for b in s.split())


def test_doc_has_both_examples():
    assert [n for n, _ in examples()] == ["1", "2", "3"]


@pytest.mark.parametrize("number,fields", examples())
def test_example_bytes(number, fields, tmp_path):
    x = make_input(fields["input"])
    np.save(tmp_path / "x.npy", x)
    flags = fields["flags"].split()
    assert main(["encode", str(tmp_path / "x.npy"), "-o", str(tmp_path / "x.raw"), "--raw"] + flags) == 0
    assert (tmp_path / "x.raw").read_bytes() == hexbytes(fields["raw"])
    assert main(["encode", str(tmp_path / "x.npy"), "-o", str(tmp_path / "x.fmc")] + flags) == 0
    assert (tmp_path / "x.fmc").read_bytes() == hexbytes(fields["container"])
    assert main(["decode", str(tmp_path / "x.fmc"), "-o", str(tmp_path / "y.npy")]) == 0
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == x.dtype and y.shape == x.shape
    if "--qstep 1" in fields["flags"]:
        assert (y == x).all()


def test_crcs_named_in_the_prose_are_the_dumps():
    # the walk-through after an example names its checksums; they must be
    # the container's: the header CRC just before the payload, the payload
    # CRC just before that (section 9)
    text = DOC.read_text()
    blocks = list(EXAMPLE.finditer(text))
    all_fields = dict(examples())
    named = 0
    for i, m in enumerate(blocks):
        fields = all_fields[m.group(1)]
        end = blocks[i + 1].start() if i + 1 < len(blocks) else len(text)
        prose = text[m.end():end]
        container, raw = hexbytes(fields["container"]), hexbytes(fields["raw"])
        at = len(container) - len(raw)
        for kind, want in (("header", container[at - 4:at]), ("payload", container[at - 8:at - 4])):
            for c in re.findall(rf"{kind} CRC `([0-9a-f ]+)`", prose):
                assert hexbytes(c) == want, (m.group(1), kind)
                named += 1
    assert named >= 2


def test_documented_codeword_limits():
    import golden
    from golden import codec
    text = DOC.read_text()
    for transform in ("none", "dct1d", "dct2d", "pred"):
        m = re.search(rf"\| `{transform}` \| (\d+) bits \|", text)
        longest = max(codec.max_codeword_length(golden.Config(transform=transform, adaptive=True),
                                                dtype) for dtype in ("uint8", "int8"))
        assert int(m.group(1)) == longest, transform
