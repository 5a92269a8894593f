"""One-row scoring through LightGBM's C API fast path (prepared once per model).

`Booster.predict` re-parses its parameters and re-checks the input on every call; for a
single row that overhead is most of the cost. LightGBM's public C API offers
`LGBM_BoosterPredictForMatSingleRowFast`, which reuses a prepared configuration: measured
2.7x faster here with identical scores (tests/ml/test_serving.py compares them).

`predict_values` goes further for the decision path: the row is packed straight from the
feature values into one buffer kept for the predictor's life, whose address is taken once.
Building a numpy row per call (fromiter, reshape) and asking it for a ctypes pointer
(`ndarray.ctypes.data_as`, ~4 us alone) cost ~12 us of the ~20 us a score took, measured.
"""

import ctypes
import struct
import weakref
from collections.abc import Iterable

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from lightgbm.basic import _LIB, _c_str, _safe_call  # type: ignore[attr-defined]

_PREDICT_NORMAL = 0  # C_API_PREDICT_NORMAL: probabilities for the binary objective
_PREDICT_CONTRIB = 3  # C_API_PREDICT_CONTRIB: per-feature SHAP values, then the expected value
_FLOAT64 = 1  # C_API_DTYPE_FLOAT64
_DOUBLE_P = ctypes.POINTER(ctypes.c_double)


class FastPredictor:
    """Scores one float64 row of `columns` values; not thread-safe (one output buffer).

    With `contributions`, `contributions(row)` gives what `Booster.predict(row,
    pred_contrib=True)[0]` gives (the same C++ tree SHAP, without the Python wrapper's
    per-call parameter parsing and checks): `columns` SHAP values, then the expected value.
    """

    def __init__(self, booster: lgb.Booster, columns: int, *, contributions: bool = False) -> None:
        self._booster = booster  # keeps the model alive as long as its prepared config
        self._config = ctypes.c_void_p()
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(_PREDICT_CONTRIB if contributions else _PREDICT_NORMAL),
                ctypes.c_int(0),  # start iteration
                ctypes.c_int(-1),  # every iteration
                ctypes.c_int(_FLOAT64),
                ctypes.c_int32(columns),
                _c_str("num_threads=1"),
                ctypes.byref(self._config),
            )
        )
        self._length = ctypes.c_int64()
        self._length_ref = ctypes.byref(self._length)
        # A binary model's contributions: one per column plus the expected value.
        self._out = np.empty(columns + 1 if contributions else 1, dtype=np.float64)
        self._out_pointer = self._out.ctypes.data_as(_DOUBLE_P)
        self._row = struct.Struct(f"={columns}d")  # native float64s, as _FLOAT64 declares
        self._buffer = (ctypes.c_double * columns)()
        self._buffer_pointer = ctypes.cast(self._buffer, ctypes.c_void_p)
        weakref.finalize(self, _LIB.LGBM_FastConfigFree, self._config)

    def predict(self, row: npt.NDArray[np.float64]) -> float:
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFast(
                self._config,
                row.ctypes.data_as(ctypes.c_void_p),
                ctypes.byref(self._length),
                self._out_pointer,
            )
        )
        return float(self._out[0])

    def contributions(self, row: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """SHAP values of one (1, columns) row (a copy: the output buffer is reused)."""
        row = np.ascontiguousarray(row, dtype=np.float64)  # the C side reads raw doubles
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFast(
                self._config,
                row.ctypes.data_as(ctypes.c_void_p),
                ctypes.byref(self._length),
                self._out_pointer,
            )
        )
        return self._out[: self._length.value].copy()

    def predict_values(self, values: Iterable[float]) -> float:
        """Score one row given as exactly `columns` numbers, in the model's column order."""
        self._row.pack_into(self._buffer, 0, *values)
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFast(
                self._config, self._buffer_pointer, self._length_ref, self._out_pointer
            )
        )
        return float(self._out[0])
