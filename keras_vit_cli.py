"""The `keras-vit` command's entry point: TensorFlow's start-up noise filtered from stderr, then `keras_vit.cli`.

It is a module beside the package rather than in it because importing anything from `keras_vit` imports
Keras and, with it, TensorFlow, whose C++ start-up lines (oneDNN and CPU-feature notices, "Could not find
cuda drivers", and on a machine without a GPU the "failed call to cuInit" error; later XLA's "XLA service
... initialized" lines when the first step compiles) are written to the process's stderr from C++, where no
Python code could silence them, and TF_CPP_MIN_LOG_LEVEL no longer does.
So the filter is installed first: file descriptor 2 goes through a pipe whose reader drops those lines
and passes every other one on. Set KERAS_VIT_VERBOSE_STARTUP=1 to see them. The recipes call
`filter_startup_noise()` first thing when run as scripts, for the same reason.
"""

import atexit
import os
import re
import sys
import threading

NOISE = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|[IWE]\d{4} [\d:. ]+\d+ ((port|cudart_stub|cpu_feature_guard|cuda_platform|cuda_executor|cuda_diagnostics"
    rb"|service)\.cc|device_compiler\.h):\d+\]"
    rb"|To enable the following instructions: )"
)


_installed = False


def filter_startup_noise():
    """Route file descriptor 2 through a thread that drops TensorFlow's start-up lines (`NOISE`).

    Call it before anything imports Keras. Once per process; nothing with KERAS_VIT_VERBOSE_STARTUP set.
    """
    global _installed
    if _installed or os.environ.get("KERAS_VIT_VERBOSE_STARTUP"):
        return
    _installed = True
    read_end, write_end = os.pipe()
    real_stderr = os.dup(2)
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward():
        pending = b""
        while chunk := os.read(read_end, 65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not NOISE.match(line))
            if kept:
                os.write(real_stderr, kept)
        if pending and not NOISE.match(pending):
            os.write(real_stderr, pending)

    thread = threading.Thread(target=forward, daemon=True)
    thread.start()

    def restore():
        sys.stderr.flush()
        os.dup2(real_stderr, 2)  # closes the pipe's last writer: the thread reads to the end and stops
        thread.join(timeout=5)

    atexit.register(restore)


def main(argv=None):
    filter_startup_noise()
    from keras_vit.cli import main as run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
