"""File helpers the python suites share."""
import atexit
import os
import shutil
import tempfile


def write(path, data, mode=0o644):
    """Write data (str or bytes) to path atomically, with mode: a reader
    (the module, the tool) never sees a half-written file."""
    with open(path + ".t", "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path + ".t", mode)
    os.replace(path + ".t", path)
    return path


def install(src, dst, mode=0o644, edit=None):
    """src (a file of the source tree) to dst with mode, as an admin's
    `install -m MODE` would: never src's own mode, which is the checkout's
    (a release tarball gives 0664, and the module rightly refuses a
    group-writable file). edit, if given, maps src's text to dst's."""
    data = slurp(src)
    if edit is not None:
        data = edit(data.decode())
    return write(dst, data, mode)


def slurp(path):
    with open(path, "rb") as f:
        return f.read()


def trusted_copy(path, mode=0o755):
    """A copy of a build-tree program the module trusts (fetch_helper), in a
    fresh 0755 folder of our own under /tmp: the module checks every folder
    above a trusted file, and a release tree's folders are 0775."""
    d = tempfile.mkdtemp(prefix="pj-bin-")
    os.chmod(d, 0o755)
    atexit.register(shutil.rmtree, d, True)
    return install(path, os.path.join(d, os.path.basename(path)), mode)
