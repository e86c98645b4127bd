"""Stack._recv, Stack._input and Stack._timer with handlers that bind the
exception (``except Exception as e``), for runtimes without sys.exc_info
(CircuitPython, ``tcpip.compat.BIND_EXCEPTIONS``), where
``compat.current_exception()`` cannot name it: tcpip/stack.py puts these in
the class there, so ``stack.last_error`` names what poll caught.  Their
frames are bigger (an ``as`` adds a local and a handler level), which only
costs pystack on CircuitPython, where frames never go to the heap."""


def recv(self):
    try:
        return self.nic.recv_into(self._rxv)
    except OSError:
        self.counters.add("rx_errors")
    except Exception as e:  # a driver bug must not take the board off the network
        self._crashed(e)
    return 0


def input_(self, n):
    try:
        self.iface.input(n, self.now_ms)
    except Exception as e:  # a bug must not take the board off the network
        self._crashed(e)


def timer(self, t):
    try:
        return t.timers(self.now_ms)
    except Exception as e:
        self._crashed(e)
        return 1000
