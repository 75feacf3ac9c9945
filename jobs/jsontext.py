"""The JSON text the hot paths write: the status document (and its ETag), a record's
fields, a task's broker envelope.

orjson writes it (~0.3 us for a status document against ~4 us for `json.dumps`: five
serialisations were ~7 % of a submission's CPU, bench/README.md "The hot paths");
the standard library writes what orjson refuses (an integer beyond 64 bits), in the
same form: compact, UTF-8 text (no \\u escapes), keys sorted when asked. Both read back
alike with `json.loads`; only the spelling of a float's exponent differs (`1e-07` and
`1e-7`), which is why digests that are stored and compared later (the request
fingerprint of Idempotency-Key, result reuse) keep the standard library's text.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Types orjson would write and the standard library refuses are left to the latter (which
# raises TypeError, as before): a datetime or a dataclass is not silently made JSON.
STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    """`value` as compact JSON text (TypeError for what `json.dumps` cannot write)."""
    try:
        return orjson.dumps(
            value, option=STRICT | (orjson.OPT_SORT_KEYS if sort_keys else 0)
        ).decode()
    except orjson.JSONEncodeError:  # an integer beyond 64 bits (and anything else it refuses)
        return json.dumps(value, separators=(",", ":"), sort_keys=sort_keys, ensure_ascii=False)
