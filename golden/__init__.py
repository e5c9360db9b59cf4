"""fmcodec golden model: the bit-exact PyTorch reference for every block.

The stream format is specified in docs/format.md; this package is its
executable form.
"""
from .config import Config
from .errors import FormatError
from .codec import Encoded, encode, decode, decode_payload, reconstruct, stream_bits

__all__ = ["Config", "FormatError", "Encoded", "encode", "decode", "decode_payload",
           "reconstruct", "stream_bits"]
