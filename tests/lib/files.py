"""File helpers the python suites share."""
import os


def write(path, data, mode=0o644):
    """Write data (str or bytes) to path atomically, with mode: a reader
    (the module, the tool) never sees a half-written file."""
    with open(path + ".t", "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path + ".t", mode)
    os.replace(path + ".t", path)
    return path


def slurp(path):
    with open(path, "rb") as f:
        return f.read()
