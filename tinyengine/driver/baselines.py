"""The shared reference models and the published numbers we compare against."""

from __future__ import annotations

import os
from pathlib import Path

# The MLPerf Tiny .tflite files: $TINYML_SHARED_MODELS (that folder itself) if set, else
# ../shared/models/mlperf_tiny beside the checkout (see ../shared/models/README.md), which an installed
# wheel has no way to find.
SHARED_MODELS = Path(os.environ.get("TINYML_SHARED_MODELS")
                     or Path(__file__).resolve().parents[3] / "shared" / "models" / "mlperf_tiny")

# TF-Lite Micro's arena for the shared models: tflite-micro's recording allocator on a
# 64-bit host, as quoted in the memory-scheduler issue. Includes TFLM's own structures.
TFLM_ARENA = {"vww_96_int8": 103_680, "pretrainedResnet_quant": 55_984, "kws_ref_model": 24_272,
              "ad01_int8": 3_984}
