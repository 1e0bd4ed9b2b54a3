"""Drivers: the compile pipeline, host and Cortex-M builds, QEMU runs, verification,
reports and benchmarks. Built on tinyengine.core and codegen."""
