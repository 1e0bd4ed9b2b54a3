"""Hypothesis strategies shared by the op tests."""

from hypothesis import strategies as st

# The float range of the representative data decides the int8 scale and zero point:
# asymmetric ranges give non-zero zero points, narrow/wide ranges small/large scales.
input_range = st.tuples(st.sampled_from([-8.0, -3.0, -1.0, -0.25, 0.0]),
                        st.sampled_from([0.5, 1.0, 2.5, 6.0, 12.0]))
activation = st.sampled_from(["none", "relu", "relu6"])
seed = st.integers(0, 2**16)


def apply_activation(tf, x, act: str):
    if act == "relu":
        return tf.nn.relu(x)
    if act == "relu6":
        return tf.nn.relu6(x)
    return x
