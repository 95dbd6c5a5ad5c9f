"""Keep TensorFlow's start-up noise out of the notebooks' outputs: one call, made by ``resnet_utils``.

TensorFlow writes C++ log lines (the oneDNN notice, CPU-feature lines) straight
to file descriptor 2, which a Jupyter kernel copies into the outputs, and
Python-side warnings (``tf.function`` retracing) through its logger.
``quiet_tensorflow`` is what the facade ``resnet_utils`` does on import, and
all it changes in the process (it also switches on TensorFlow's oneDNN kernels,
which are faster, before TensorFlow starts). Used by every lesson, through
``resnet_utils``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def stderr_fd_silenced() -> Iterator[None]:
    """Send OS-level stderr (fd 2) to /dev/null inside the ``with`` block; restored afterwards."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def quiet_tensorflow() -> None:
    """Import TensorFlow quietly, once.

    Sets ``TF_CPP_MIN_LOG_LEVEL=3`` unless already set (C++ log lines: errors
    only) and ``TF_ENABLE_ONEDNN_OPTS=1`` unless already set, imports
    TensorFlow with fd 2 sent to /dev/null (for the lines it prints before its
    logger starts), then restores fd 2, and sets TensorFlow's Python logger to
    ERROR. When TensorFlow is already imported only the logger level is set:
    the lines it printed are out already, and its choice of kernels is made.

    ``TF_ENABLE_ONEDNN_OPTS``: TensorFlow 2.21 uses its oneDNN kernels by
    default on some CPUs only. On a 2-core AMD EPYC with AVX2 and no AVX-512
    (family 25, model 1) they were off by default, and switching them on took
    the course's ResNet-50 from 15-16 to 48 training images/s (2026-12-02); on
    the AVX-512 machines the course measured on they were on already.
    Processes started from a lesson (lesson 05's workers) inherit the variable.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    if "tensorflow" not in sys.modules:
        with stderr_fd_silenced():
            import tensorflow  # noqa: F401
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
