"""Builds the optional C trampoline; without a compiler Lind falls back to ctypes."""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """A failed build of the accelerator must not fail the install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any compiler failure means "no accelerator"
            print(f"lind: C trampoline not built ({exc}); the ctypes fallback will be used")

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            print(f"lind: C trampoline not built ({exc}); the ctypes fallback will be used")


setup(
    ext_modules=[
        Extension("lind.threei._accel", ["src/lind/threei/_accel.c"], extra_compile_args=["-O2"])
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
