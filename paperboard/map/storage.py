"""The map on disk: one compact binary file under ``<data>/index``, written atomically.

Layout: the magic ``PBMAP\\x00\\x01\\n``, a little-endian uint32 header length, the JSON
header (model, method, the vectors' epoch and last sequence number, categories, cluster
labels per zoom level, and where each array lies), padding to 8 bytes, then the arrays:

    keys int64[n] · xy float32[n, 2] · clusters uint16[levels, n] · category uint16[n]
    · day uint16[n] (days since 1970-01-01, 0 unknown) · ids utf-8, newline-separated

About 22 bytes a paper plus its id: 75k papers in ~2.5 MB, a million in ~33 MB. The header
carries a CRC-32 of the arrays, so a truncated or scribbled file is detected (``MapFileError``)
and rebuilt, never served. A write goes to a temporary file that replaces the old one only
when complete, so a reader sees the old map or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import numpy as np

MAGIC = b"PBMAP\x00\x01\n"
FORMAT_VERSION = 1
FILE_NAME = "map.bin"
EPOCH_DAY = date(1970, 1, 1)


class MapFileError(ValueError):
    """The map file is missing, truncated, corrupt or of another format: rebuild it."""


def map_path(data_dir: Path) -> Path:
    return Path(data_dir) / "index" / FILE_NAME


def day_number(day: date | None) -> int:
    return 0 if day is None else max(0, min(65535, (day - EPOCH_DAY).days))


@dataclass(slots=True)
class ClusterLabel:
    keywords: list[str]
    x: float
    y: float
    size: int

    def to_json(self) -> dict:
        return {
            "keywords": self.keywords,
            "x": round(self.x, 5),
            "y": round(self.y, 5),
            "size": self.size,
        }


@dataclass(slots=True)
class MapData:
    """Every placed paper, row by row. Rows are in a random order at build time (so any
    prefix is a uniform sample: the page draws a prefix first on a huge corpus); papers
    placed since then are appended."""

    keys: np.ndarray  # int64 (n,)
    xy: np.ndarray  # float32 (n, 2)
    clusters: np.ndarray  # uint16 (levels, n)
    category: np.ndarray  # uint16 (n,)
    day: np.ndarray  # uint16 (n,)
    ids: list[str]
    categories: list[str]
    labels: list[list[ClusterLabel]]
    """Per zoom level, coarse to fine: one label per cluster (its index is the cluster id)."""
    model: str
    method: str
    epoch: str
    """The vectors' epoch (store.vector_head) the map was built from: another one (vectors
    rebuilt, another database) means the map is stale."""
    max_seq: int
    """The last vector sequence number the map has seen; newer vectors are placed next."""
    built_at: str = ""
    placed_since_build: int = 0
    _row_of: dict[int, int] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def row_of(self) -> dict[int, int]:
        if self._row_of is None or len(self._row_of) != len(self.keys):
            self._row_of = {int(k): i for i, k in enumerate(self.keys.tolist())}
        return self._row_of

    def rows_of(self, keys) -> np.ndarray:
        row_of = self.row_of
        return np.asarray([row_of.get(int(k), -1) for k in keys], dtype=np.int64)

    def without(self, rows) -> MapData:
        """A copy without these rows (the bench takes papers off to place them back)."""
        keep = np.ones(len(self), dtype=bool)
        keep[np.asarray(rows, dtype=np.int64)] = False
        return replace(
            self, keys=self.keys[keep], xy=self.xy[keep], clusters=self.clusters[:, keep],
            category=self.category[keep], day=self.day[keep],
            ids=[i for i, k in zip(self.ids, keep, strict=True) if k], _row_of=None,
        )  # fmt: skip

    def header(self) -> dict:
        return {
            "format": "paperboard-map", "version": FORMAT_VERSION, "papers": len(self),
            "model": self.model, "method": self.method, "epoch": self.epoch, "max_seq": self.max_seq,
            "built_at": self.built_at, "placed_since_build": self.placed_since_build,
            "categories": self.categories, "levels": [[lab.to_json() for lab in level] for level in self.labels],
        }  # fmt: skip


def _arrays(data: MapData) -> list[tuple[str, np.ndarray]]:
    ids = "\n".join(data.ids).encode("utf-8")
    return [
        ("keys", np.ascontiguousarray(data.keys, dtype="<i8")),
        ("xy", np.ascontiguousarray(data.xy, dtype="<f4")),
        ("clusters", np.ascontiguousarray(data.clusters, dtype="<u2")),
        ("category", np.ascontiguousarray(data.category, dtype="<u2")),
        ("day", np.ascontiguousarray(data.day, dtype="<u2")),
        ("ids", np.frombuffer(ids, dtype=np.uint8)),
    ]


def save(data: MapData, path: Path) -> None:
    """Write atomically: a temporary file in the same directory, fsynced, then renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = _arrays(data)
    layout, offset, crc = [], 0, 0
    for name, arr in arrays:
        layout.append(
            {"name": name, "dtype": arr.dtype.str, "shape": list(arr.shape), "offset": offset}
        )
        offset += arr.nbytes
        offset += -offset % 8
    for _, arr in arrays:
        crc = zlib.crc32(arr.tobytes(), crc)
    header = json.dumps(
        {**data.header(), "arrays": layout, "crc32": crc}, ensure_ascii=False
    ).encode()
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC)
            f.write(struct.pack("<I", len(header)))
            f.write(header)
            f.write(b"\0" * (-(len(MAGIC) + 4 + len(header)) % 8))
            for _, arr in arrays:
                f.write(arr.tobytes())
                f.write(b"\0" * (-arr.nbytes % 8))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load(path: Path) -> MapData:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MapFileError(f"no map file at {path}") from None
    except OSError as exc:
        raise MapFileError(f"map file {path} unreadable: {exc}") from None
    try:
        return _parse(raw)
    except MapFileError as exc:
        raise MapFileError(f"map file {path} is corrupt ({exc})") from None
    except (ValueError, KeyError, TypeError, IndexError, struct.error, UnicodeDecodeError) as exc:
        raise MapFileError(f"map file {path} is corrupt ({type(exc).__name__}: {exc})") from None


def _parse(raw: bytes) -> MapData:
    if not raw.startswith(MAGIC):
        raise MapFileError("not a map file, or of another version")
    (size,) = struct.unpack_from("<I", raw, len(MAGIC))
    start = len(MAGIC) + 4
    header = json.loads(raw[start : start + size].decode("utf-8"))
    if header.get("format") != "paperboard-map" or header.get("version") != FORMAT_VERSION:
        raise MapFileError("map format of another version")
    body = start + size
    body += -body % 8
    arrays, crc = {}, 0
    for spec in header["arrays"]:
        dtype = np.dtype(spec["dtype"])
        count = int(np.prod(spec["shape"])) if spec["shape"] else 1
        begin = body + int(spec["offset"])
        end = begin + count * dtype.itemsize
        if end > len(raw):
            raise MapFileError("truncated")
        arr = np.frombuffer(raw, dtype=dtype, count=count, offset=begin).reshape(spec["shape"])
        crc = zlib.crc32(arr.tobytes(), crc)
        arrays[spec["name"]] = arr
    if crc != header["crc32"]:
        raise MapFileError("checksum mismatch")
    n = int(header["papers"])
    ids = bytes(arrays["ids"]).decode("utf-8").split("\n") if n else []
    clusters = arrays["clusters"].reshape(len(header["levels"]), n)
    if not (len(arrays["keys"]) == len(arrays["xy"]) == clusters.shape[1] == len(ids) == n):
        raise MapFileError("arrays differ in length")
    labels = [
        [ClusterLabel(lab["keywords"], lab["x"], lab["y"], lab["size"]) for lab in level]
        for level in header["levels"]
    ]
    return MapData(
        keys=arrays["keys"].astype(np.int64), xy=arrays["xy"].astype(np.float32),
        clusters=clusters.astype(np.uint16), category=arrays["category"].astype(np.uint16),
        day=arrays["day"].astype(np.uint16), ids=ids, categories=list(header["categories"]),
        labels=labels, model=header["model"], method=header["method"], epoch=header["epoch"],
        max_seq=int(header["max_seq"]), built_at=header.get("built_at", ""),
        placed_since_build=int(header.get("placed_since_build", 0)),
    )  # fmt: skip
