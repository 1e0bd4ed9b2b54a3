"""Compile-time quantization math matches TFLite's definitions on known values."""

from tinyengine.core import quant as Q


def test_round_half_away_from_zero():
    assert [Q.round_half_away(v) for v in (0.5, 1.5, 2.5, -0.5, -1.5, 2.4999)] == [1, 2, 3, -1, -2, 2]


def test_quantize_multiplier_known_values():
    assert Q.quantize_multiplier(0.5) == (1 << 30, 0)
    assert Q.quantize_multiplier(1.0) == (1 << 30, 1)
    assert Q.quantize_multiplier(0.0) == (0, 0)
    # the value LiteRT and TFLM compute for the first FC of the MLPerf AD model
    assert Q.quantize_multiplier(0.39101523 * 0.00037687 / 0.04945913)[1] == -8
    # a mantissa that rounds up to 2^31 moves into the exponent
    assert Q.quantize_multiplier(1.0 - 2.0**-40) == (1 << 30, 1)
    # below 2^-31 flushes to zero
    assert Q.quantize_multiplier(2.0**-40) == (0, 0)
    assert Q.quantize_multiplier(2.0**40, single_rounding=True) == ((1 << 31) - 1, 30)


def test_padding_matches_tflite():
    assert Q.padding(in_size=9, out_size=5, filter_size=3, stride=2, dilation=1) == 1   # SAME
    assert Q.padding(in_size=9, out_size=4, filter_size=3, stride=2, dilation=1) == 0   # VALID
    assert Q.padding(in_size=10, out_size=5, filter_size=4, stride=2, dilation=1) == 1  # SAME, odd total
