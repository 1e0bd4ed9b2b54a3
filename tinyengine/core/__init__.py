"""The engine core: IR, reader, quantization, contracts, kernel parameter types and the
compiler passes (lower, inplace, patch, schedule, planner). Knows nothing of C, boards or the CLI."""
