"""TinyEngine: .tflite reader, graph IR, quantization math, memory planner, and the
build / run / verify drivers behind the `tinyml` command."""

__version__ = "0.1.0"
