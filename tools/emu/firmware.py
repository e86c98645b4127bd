"""Stock RP2040 firmware images for the emulated board: where they are, and
whether they are the images the tests expect.

    from firmware import find, skip_reason
    path = find("micropython-v1.28.0-RPI_PICO.uf2")    # FirmwareError if absent or changed
    reason = skip_reason()       # None when all four are good, a line when one is missing

    python tools/emu/firmware.py [--dir DIR]                # check them all (make firmware-check)

No package registry carries these images (the official downloads are listed
in README, "Firmware for the emulated board"), so they live outside the
repository, in ``FIRMWARE_DIR``:

- the ``FIRMWARE_DIR`` environment variable (``make ... FIRMWARE_DIR=...``
  sets it), else
- ``../shared/firmware`` next to the clone; in a ``git worktree``, also next
  to the main checkout.

Each image is checked against the sha256 in ``tools/emu/firmware.sha256``
(``sha256sum`` format, so ``cd $FIRMWARE_DIR && sha256sum -c
tools/emu/firmware.sha256`` works too): a different build would make the
emulated-board figures mean something else.  Those sums are of images built
from the release sources (the build date is in the banner, so no two builds
match byte for byte); to test other images of the same releases (the official
downloads, or your own build), name them as in that file, write their sums
with ``sha256sum * > my.sha256`` and set ``FIRMWARE_SUMS=/path/my.sha256``.

Host-only (CPython): hashlib and os.path.
"""
import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SUMS_FILE = os.path.join(HERE, "firmware.sha256")

MICROPYTHON_PICO = "micropython-v1.28.0-RPI_PICO.uf2"
MICROPYTHON_W5500_EVB_PICO = "micropython-v1.28.0-W5500_EVB_PICO.uf2"
CIRCUITPYTHON_FEATHER = "circuitpython-10.2.1-adafruit_feather_rp2040.uf2"
BOOTROM = "rp2040-bootrom-b1.bin"

HOW_TO_GET = ("get the official images (micropython.org: RPI_PICO and W5500_EVB_PICO v1.28.0; "
              "circuitpython.org: Feather RP2040 10.2.1; the B1 boot ROM from rp2040js's "
              "demo/bootrom.ts) as README 'Firmware for the emulated board' says, "
              "or set FIRMWARE_DIR")


class FirmwareError(OSError):
    """A firmware image is missing or is not the expected build (one-line message)."""


def expected_sums(path=None):
    """{image name: sha256 hex} from tools/emu/firmware.sha256 (or FIRMWARE_SUMS)."""
    sums = {}
    with open(path or os.environ.get("FIRMWARE_SUMS") or SUMS_FILE) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            digest, name = line.split(None, 1)
            sums[name.lstrip("*")] = digest.lower()
    return sums


def _main_checkout(root):
    """The main checkout's folder when ``root`` is a git worktree, else None."""
    dotgit = os.path.join(root, ".git")
    if not os.path.isfile(dotgit):
        return None
    try:
        with open(dotgit) as f:
            line = f.readline().strip()
        if not line.startswith("gitdir:"):
            return None
        gitdir = os.path.normpath(os.path.join(root, line[len("gitdir:"):].strip()))
        with open(os.path.join(gitdir, "commondir")) as f:
            common = os.path.normpath(os.path.join(gitdir, f.readline().strip()))
    except OSError:
        return None
    return os.path.dirname(common)


def default_dirs(root=ROOT):
    """Where to look when FIRMWARE_DIR is not set, first match wins."""
    dirs = [os.path.normpath(os.path.join(root, "..", "shared", "firmware"))]
    main = _main_checkout(root)
    if main is not None:
        d = os.path.normpath(os.path.join(main, "..", "shared", "firmware"))
        if d not in dirs:
            dirs.append(d)
    return dirs


def firmware_dir(env=None, root=ROOT):
    """The folder the images are taken from (it may not exist)."""
    env = os.environ if env is None else env
    d = env.get("FIRMWARE_DIR")
    if d:
        return os.path.abspath(d)
    dirs = default_dirs(root)
    for d in dirs:
        if os.path.isdir(d):
            return d
    return dirs[0]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 16)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def find(name, directory=None, sums=None):
    """Path of the image ``name`` in FIRMWARE_DIR (or ``directory``) after
    checking its sha256; raises FirmwareError with one line when it is not
    a known image, is missing, or has another checksum."""
    sums = expected_sums() if sums is None else sums
    if name not in sums:
        raise FirmwareError("unknown firmware image %r: known are %s" % (name, ", ".join(sorted(sums))))
    d = firmware_dir() if directory is None else directory
    path = os.path.join(d, name)
    if not os.path.isfile(path):
        raise _missing(name, d)
    got = sha256_file(path)
    if got != sums[name]:
        raise FirmwareError("firmware image %s has sha256 %s, expected %s: not the build the tests "
                            "are written for (another build: set FIRMWARE_SUMS, see README)"
                            % (path, got, sums[name]))
    return path


def skip_reason(*names, directory=None):
    """For the emulated-board tests: None when every named image (default: all
    of tools/emu/firmware.sha256) is present and good; the one-line reason when one
    is missing (``pytest.skip(reason)``).  An image that is there but is not
    the expected build raises FirmwareError: that fails, it does not skip."""
    sums = expected_sums()
    d = firmware_dir() if directory is None else directory
    for name in names or sorted(sums):
        if name in sums and not os.path.isfile(os.path.join(d, name)):
            return str(_missing(name, d))
    for name in names or sorted(sums):
        find(name, d, sums)
    return None


def _missing(name, d):
    return FirmwareError("firmware image %s not found in %s: %s" % (name, d, HOW_TO_GET))


def main(argv):
    directory = None
    if "--dir" in argv:
        directory = argv[argv.index("--dir") + 1]
    sums = expected_sums()
    d = firmware_dir() if directory is None else directory
    print("FIRMWARE_DIR %s" % d)
    bad = 0
    for name in sorted(sums):
        try:
            find(name, d, sums)
            print("ok       %s" % name)
        except FirmwareError as e:
            bad += 1
            print("FAILED   %s" % e)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
