"""Tiny ``typing`` for MicroPython host runs of libraries that import it at
run time (adafruit_connection_manager, adafruit_minimqtt): every name is a
do-nothing placeholder that can also be subscripted."""


class _Any:
    def __getitem__(self, item):
        return self

    def __call__(self, *a, **k):
        return self


_any = _Any()
TYPE_CHECKING = False


def __getattr__(name):
    return _any


def overload(f):
    return f


def cast(t, v):
    return v
