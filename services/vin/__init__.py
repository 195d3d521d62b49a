"""Photos to vehicles (SPEC V1–V3): VIN from barcodes and OCR, validation, offline decoding, part codes.

- `pipeline.read_vin(bytes)`: the pure pipeline; `runner.VinReader`: the same in a process pool with a timeout.
- `validation`, `candidates`, `decoding`: what makes a VIN, finding one in OCR text, what it says.
- `readings`: stored readings (cache by sha256, per message, manual correction, latest good reading).
- `workers.VinWorker`: reads every inbound image in the background; publishes `vin.read` (`VIN_READ`).
- `replies.vin_reply_text`: the bot's answer; `part_codes.match_part_codes`: V2.
"""

from __future__ import annotations

from .readings import VIN_READ

__all__ = ['VIN_READ']
