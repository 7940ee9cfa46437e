"""A throw-away lab for pam_jwt with the real programs, as root: users, the
HTTPS test issuer, sshd instances with their own PAM services made from the
shipped pam.d-examples/ files, the stock ssh client, and the module's syslog
lines. Used by test_e2e.py and by the demo (tests/demo/demo.py).

Everything it makes is undone by Lab.close(), which also runs on SIGTERM,
SIGINT, SIGHUP and at exit: processes stopped by pid, users it created
deleted, its /etc/pam.d and /etc/sudoers.d files removed, /dev/log given
back. It never edits an existing file under /etc. It makes /run/sshd
(sshd's privilege separation folder) when missing and leaves it.
"""
import atexit
import grp
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(SRC, "tests", d) for d in ("mint", "issuer")]
import control  # noqa: E402

EX = os.path.join(SRC, "pam.d-examples")
SSHD = "/usr/sbin/sshd"
TIMEOUT = 30          # any one subprocess
LOG_WAIT = 5          # a verdict line after the client is done
PROGRAMS = ("ssh", "ssh-keygen", "useradd", "userdel", "setpriv")

VERDICT = re.compile(r'pam_jwt\((?P<svc>[^:()]+):auth\): (?P<rest>result=.*?)\s*$')
# The verdict line's 13 fields, in their order (pam_jwt(8) LOGGING).
FIELDS = ("result", "reason", "service", "pam_user", "rhost", "issuer_name", "user", "fields",
          "iss", "sub", "kid", "jti", "detail")
BARE = ("result", "reason", "fields")
PAIR = re.compile(r'([a-z_]+)=("[^"]*"|[^\s"]+)(?: |$)')


def parse_verdict(rest):
    """The text form's key=value pairs as a dict: quoted values unquoted,
    a bare - as None; "well_formed" says whether the line has exactly the
    13 fields in order, result/reason/fields bare words, the others quoted
    or a bare -, and nothing else."""
    out, keys, pos, good = {}, [], 0, True
    while pos < len(rest):
        m = PAIR.match(rest, pos)
        if not m:
            good = False
            break
        k, v = m.group(1), m.group(2)
        keys.append(k)
        if v.startswith('"'):
            good = good and k not in BARE
            out[k] = v[1:-1]
        elif v == "-":
            good = good and k not in BARE[:2]
            out[k] = None
        else:
            good = good and k in BARE and re.fullmatch(r"[a-z_]+", v) is not None
            out[k] = v
        pos = m.end()
    out["well_formed"] = good and tuple(keys) == FIELDS
    return out


def missing(programs=PROGRAMS, users=()):
    """Why the lab cannot run here (None: it can): not root, a program
    missing, or one of its users (or their groups) exists already."""
    if os.geteuid() != 0:
        return "needs root"
    if not os.access(SSHD, os.X_OK):
        return "no " + SSHD
    for prog in programs:
        if shutil.which(prog, path="/usr/sbin:/usr/bin:/sbin:/bin") is None:
            return "no " + prog
    for u in users:
        for lookup, what in ((pwd.getpwnam, "user"), (grp.getgrnam, "group")):
            try:
                lookup(u)
                return "%s %s already exists: refusing to touch it" % (what, u)
            except KeyError:
                pass
    return None


def run(args, **kw):
    """subprocess.run with a timeout, text output, stdin /dev/null, cwd /."""
    kw.setdefault("timeout", TIMEOUT)
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("cwd", "/")
    return subprocess.run(args, **kw)


def write(path, text, mode=0o644, owner=None):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    if owner is not None:
        pw = pwd.getpwnam(owner)
        os.chown(path, pw.pw_uid, pw.pw_gid)
    os.chmod(path, mode)
    return path


def wait_until(cond, timeout, step=0.02):
    """Poll cond() until it is true or timeout passes; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def stop_process(proc, name):
    """SIGTERM by pid, wait; SIGKILL after 10 s."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        print("# %s (pid %d) ignored SIGTERM: SIGKILL" % (name, proc.pid))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cleanup:
    """Undo steps, run in reverse order, each once, each whatever the others do."""

    def __init__(self):
        self.steps = []

    def add(self, what, fn, *args):
        self.steps.append((what, fn, args))

    def run(self):
        while self.steps:
            what, fn, args = self.steps.pop()
            try:
                fn(*args)
            except Exception as e:
                print("# cleanup %s: %s" % (what, e))
        sys.stdout.flush()


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


class LogWatch:
    """The module's syslog lines. Where nothing serves /dev/log (a container)
    we listen on it ourselves while the lab runs; else we read the journal or
    /var/log/auth.log from the lab's start (how: listener, journal, authlog,
    or None when there is nothing to read)."""

    def __init__(self, cleanup, tag):
        self.cleanup = cleanup
        self.tag = tag
        self.lines = []
        self.cv = threading.Condition()
        self.how = None
        self.since = int(time.time()) - 1
        self.authlog = "/var/log/auth.log"
        self.authlog_off = 0
        self.barriers = 0

    def start(self):
        path = "/dev/log"
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            probe.connect(path)
            served = True
        except OSError:
            served = False
        finally:
            probe.close()
        if served:
            if shutil.which("journalctl") and run(["journalctl", "-q", "-n", "0"]).returncode == 0:
                self.how = "journal"
            elif os.path.exists(self.authlog):
                self.how = "authlog"
                self.authlog_off = os.path.getsize(self.authlog)
            return
        link = None
        if os.path.lexists(path):
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                link = os.readlink(path)    # dangling (nothing answered): put it back after
            elif not stat.S_ISSOCK(st.st_mode):
                return                      # something we do not know: leave it
            os.unlink(path)                 # a dead socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        os.chmod(path, 0o666)
        ino = os.stat(path).st_ino
        self.how = "listener"
        self.cleanup.add("/dev/log listener", self._stop, s, ino, link)
        threading.Thread(target=self._read, args=(s,), daemon=True).start()

    def _read(self, s):
        while True:
            try:
                data = s.recv(65536)
            except OSError:
                return
            with self.cv:
                self.lines.append(data.decode("utf-8", "replace"))
                self.cv.notify_all()

    @staticmethod
    def _stop(s, ino, link):
        s.close()
        try:
            if os.lstat("/dev/log").st_ino == ino:
                os.unlink("/dev/log")
                if link is not None:
                    os.symlink(link, "/dev/log")
        except FileNotFoundError:
            pass

    def all(self):
        if self.how == "listener":
            with self.cv:
                return list(self.lines)
        if self.how == "journal":
            p = run(["journalctl", "-q", "--no-pager", "-o", "cat", "--since", "@%d" % self.since])
            return p.stdout.splitlines()
        if self.how == "authlog":
            with open(self.authlog, "rb") as f:
                f.seek(self.authlog_off)
                return f.read().decode("utf-8", "replace").splitlines()
        return []

    def mark(self):
        return len(self.all())

    def _barrier(self):
        """Our own datagram through /dev/log: once it is read, every line a
        client that has finished caused before has been read too (FIFO)."""
        self.barriers += 1
        tag = "pjtest-barrier-%s-%d" % (self.tag, self.barriers)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.connect("/dev/log")
            s.send(("<15>%s" % tag).encode())
        finally:
            s.close()
        with self.cv:
            self.cv.wait_for(lambda: any(tag in l for l in self.lines[-50:]), LOG_WAIT)

    def verdicts(self, mark, svc, want=1):
        """The module's verdict lines for service svc since mark, as dicts
        (svc, line, well_formed and the fields of parse_verdict)."""
        def get():
            out = []
            for l in self.all()[mark:]:
                m = VERDICT.search(l)
                if m and m.group("svc") == svc:
                    out.append(dict(parse_verdict(m.group("rest")), svc=m.group("svc"), line=l))
            return out
        if self.how == "listener":
            self._barrier()
            return get()
        if self.how is None:
            return []
        return wait_until(lambda: len(get()) >= want and get(), LOG_WAIT, 0.1) or get()


class Site:
    """One sshd on 127.0.0.1 with its own PAM service, made from
    pam.d-examples/sshd, whose config file is one example .conf; or, with
    sources (see Lab.install_multi), the sectioned example read by the PAM
    file's commented-out line for it."""

    def __init__(self, lab, tag, example, users, sources=None, permit_root="no"):
        self.lab = lab
        self.tag = tag
        self.service = "sshd-pjtest-%s-%s" % (lab.rand, tag)
        self.folder = os.path.join(lab.tmp, "site-" + tag)
        self.permit_root = permit_root
        os.mkdir(self.folder, 0o755)
        # The folder stands for /etc/security/pam_jwt/.
        if sources is None:
            self.conf, self.aud = lab.install_conf(example, self.folder, "sshd.conf")
            self.pamd = lab.install_pamd("sshd", self.service, self.folder)
        else:
            self.conf = lab.install_multi(example, self.folder, sources)
            self.aud = None
            self.pamd = lab.install_pamd("sshd", self.service, self.folder, pick=example + ".conf")
        # sshd takes its PAM service name from the name it runs as.
        self.link = os.path.join(self.folder, self.service)
        os.symlink(SSHD, self.link)
        self.log = os.path.join(self.folder, "sshd.log")
        self.users = users
        self._start()

    def _start(self):
        pidfile = os.path.join(self.folder, "sshd.pid")
        for _ in range(3):
            self.port = free_port()
            cfg = open(os.path.join(EX, "sshd_config.snippet")).read()
            cfg += "\n".join([
                "# the lab's own lines",
                "ListenAddress 127.0.0.1",
                "Port %d" % self.port,
                "HostKey %s" % self.lab.hostkey(),
                "PidFile %s" % pidfile,
                "AllowUsers %s" % " ".join(self.users),
                "AuthorizedKeysFile none",
                "PermitRootLogin %s" % self.permit_root,
                "UseDNS no",
                "PrintMotd no",
                "PrintLastLog no",
                "X11Forwarding no",
                "AllowTcpForwarding no",
                "LoginGraceTime 30",
                "MaxStartups 50",
            ]) + "\n"
            self.config = os.path.join(self.folder, "sshd_config")
            if os.path.exists(self.config):
                os.unlink(self.config)
            write(self.config, cfg)
            p = run([self.link, "-t", "-f", self.config])
            if p.returncode != 0:
                raise RuntimeError("sshd -t: " + p.stderr)
            with open(self.log, "ab") as lf:
                # --pdeathsig: sshd goes with us even if we are killed hard.
                self.proc = subprocess.Popen(["setpriv", "--pdeathsig", "TERM", self.link,
                                              "-D", "-e", "-f", self.config],
                                             stdin=subprocess.DEVNULL, stdout=lf, stderr=lf, cwd="/")
            self.lab.cleanup.add("sshd " + self.tag, stop_process, self.proc, "sshd " + self.tag)
            # PidFile is written once it listens.
            wait_until(lambda: os.path.exists(pidfile) or self.proc.poll() is not None, 20)
            if self.proc.poll() is None and os.path.exists(pidfile):
                return
            stop_process(self.proc, "sshd " + self.tag)
            if "Address already in use" not in open(self.log).read():
                break
        raise RuntimeError("sshd did not start:\n" + open(self.log).read()[-2000:])


class Lab:
    def __init__(self, build, keys="discovery", prefix="pjt-e2e-"):
        self.build = os.path.abspath(build)
        self.module = os.path.join(self.build, "src", ".libs", "pam_jwt.so")
        self.askpass = os.path.join(self.build, "src", "pam_jwt_askpass")
        self.fetch = os.path.join(self.build, "src", "pam_jwt_fetch")
        self.keys = keys
        self.rand = secrets.token_hex(4)
        self.cleanup = Cleanup()
        atexit.register(self.cleanup.run)
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, _on_signal)
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.cleanup.add("temp folder", shutil.rmtree, self.tmp, True)
        os.chmod(self.tmp, 0o755)     # the users reach their homes
        self.client = os.path.join(self.tmp, "client")
        os.mkdir(self.client, 0o700)
        os.mkdir(os.path.join(self.tmp, "home"), 0o755)
        self.known = os.path.join(self.client, "known_hosts")
        self._hostkey = None
        self.iss = None
        # sshd's privilege separation folder, as the openssh-server package
        # makes it at boot; left in place (another lab may be using it).
        os.makedirs("/run/sshd", 0o755, exist_ok=True)
        self.log = LogWatch(self.cleanup, self.rand)
        self.log.start()

    def close(self):
        self.cleanup.run()

    # -- users
    def add_user(self, name):
        home = os.path.join(self.tmp, "home", name)
        p = run(["useradd", "-m", "-d", home, "-s", "/bin/sh", "-U", name])
        if p.returncode != 0:
            raise RuntimeError("useradd %s: %s" % (name, p.stderr))
        self.cleanup.add("user " + name, self._del_user, name)
        return home

    @staticmethod
    def _del_user(name):
        p = run(["userdel", "-r", name])
        if p.returncode not in (0, 12):     # 12: the home went with the temp folder
            run(["userdel", "-f", "-r", name])
        for d in ("/var/lib/sudo/lectured/" + name, "/run/sudo/ts/" + name):
            if os.path.exists(d):
                os.unlink(d)

    def reachable(self, path, mode=0o755, copy=False):
        """path itself when every user may run it, else a root-owned copy
        in the lab (a build tree under a 0700 home: fetch_user and the sudo
        user could not reach it)."""
        p = os.path.abspath(path)
        ok = not copy and os.stat(p).st_mode & stat.S_IXOTH
        d = os.path.dirname(p)
        while ok and d != "/":
            ok = os.stat(d).st_mode & stat.S_IXOTH
            d = os.path.dirname(d)
        if ok:
            return p
        bindir = os.path.join(self.tmp, "bin")
        os.makedirs(bindir, 0o755, exist_ok=True)
        copy = os.path.join(bindir, os.path.basename(p))
        shutil.copyfile(p, copy)
        os.chmod(copy, mode)
        return copy

    # -- issuer and keys
    def start_issuer(self):
        # A trusted file: a root-owned copy in a 0755 folder, whatever the
        # build tree's folders are (a release tree's are 0775).
        self.fetch = self.reachable(self.fetch, 0o711, copy=True)   # as installed
        self.iss = control.start(os.path.join(self.tmp, "issuer"))
        self.cleanup.add("issuer", control.stop, self.iss)
        self.jwks = os.path.join(self.tmp, "jwks.json")
        shutil.copy(os.path.join(self.iss.dir, "jwks.json"), self.jwks)
        os.chmod(self.jwks, 0o644)
        return self.iss

    def more_issuer(self, name):
        """Another HTTPS test issuer (its own port, CA and keys)."""
        h = control.start(os.path.join(self.tmp, "issuer-" + name))
        self.cleanup.add("issuer " + name, control.stop, h)
        return h

    def key_source(self, folder):
        """The key source lines for a config file: discovery at the issuer
        through the fetch helper, or (keys=file) a copy of its JWKS."""
        if self.keys == "file":
            return "jwks_file = %s\n" % self.jwks
        return ("ca_file = %s\nfetch_helper = %s\ncache_dir = %s\nfetch_user = nobody\n"
                % (self.iss.ca, self.fetch, os.path.join(folder, "cache")))

    # -- the shipped files, installed
    def install_conf(self, example, folder, as_name):
        """pam.d-examples/EXAMPLE.conf (and .map) into folder, which stands
        for /etc/security/pam_jwt/: the issuer URL, the map folder and the
        key source are all that change. Returns (path, first audience)."""
        text = open(os.path.join(EX, example + ".conf")).read()
        text, n = re.subn(r"^issuer = \S+$", "issuer = %s" % self.iss.url, text, flags=re.M)
        if n != 1:
            raise RuntimeError("%s.conf: no issuer line" % example)
        text = text.replace("/etc/security/pam_jwt/", folder + "/")
        text += self.key_source(folder)
        aud = re.search(r"^audience = ([^,\s]+)", text, re.M).group(1)
        path = write(os.path.join(folder, as_name), text)
        m = os.path.join(EX, example + ".map")
        if os.path.exists(m):
            write(os.path.join(folder, example + ".map"), open(m).read())
        return path, aud

    def install_multi(self, example, folder, sources):
        """pam.d-examples/EXAMPLE.conf, a file with [issuer NAME] sections,
        into folder (for /etc/security/pam_jwt/), with the maps it names.
        sources: section name -> an issuer handle (its issuer URL and key
        source replace the section's issuer line: ca_file for discovery, or
        a copy of its JWKS with keys=file) or the path of a JWKS file (copied
        to where the section's jwks_file points). The fetch settings, global
        keys, go before the first section. Returns the path."""
        text = open(os.path.join(EX, example + ".conf")).read()
        text = text.replace("/etc/security/pam_jwt/", folder + "/")
        out, section, done = [], None, set()
        for line in text.splitlines():
            m = re.match(r"^\[issuer ([a-z0-9_-]+)\]\s*$", line)
            src = sources.get(section)
            if m:
                if section is None:
                    out += ["# the lab's fetch settings (global)",
                            "fetch_helper = %s" % self.fetch, "fetch_user = nobody",
                            "cache_dir = %s" % os.path.join(folder, "cache"), ""]
                section = m.group(1)
            elif src is not None and not isinstance(src, str) and re.match(r"^issuer = \S+$", line):
                line = "issuer = %s\n" % src.url
                if self.keys == "file":
                    jw = os.path.join(folder, "jwks-%s.json" % section)
                    if not os.path.exists(jw):
                        write(jw, control.jwks(src).decode())
                    line += "jwks_file = %s" % jw
                else:
                    line += "ca_file = %s" % src.ca
                done.add(section)
            elif isinstance(src, str) and re.match(r"^jwks_file = \S+$", line):
                write(line.split(" = ", 1)[1], open(src).read())
                done.add(section)
            out.append(line)
        if done != set(sources):
            raise RuntimeError("%s.conf: no section or line for %s" % (example, set(sources) - done))
        for mp in set(re.findall(r"^user_map = (\S+)$", text, re.M)):
            write(mp, open(os.path.join(EX, os.path.basename(mp))).read())
        return write(os.path.join(folder, example + ".conf"), "\n".join(out) + "\n")

    def install_pamd(self, example, service, folder, pick=None):
        """pam.d-examples/EXAMPLE as the new /etc/pam.d/SERVICE: the module's
        path and the config folder substituted, on the rule lines only.
        pick: the commented-out pam_jwt.so line that names this file is
        used instead of the active one (which is commented out)."""
        out = []
        for line in open(os.path.join(EX, example)).read().splitlines():
            if pick is not None and "pam_jwt.so" in line:
                if line.startswith("#") and pick in line:
                    line = line[1:]
                elif not line.startswith("#"):
                    line = "#" + line
            if not line.lstrip().startswith("#"):
                line = re.sub(r"(?<=\s)pam_jwt\.so(?=\s|$)", self.module, line)
                line = line.replace("/etc/security/pam_jwt/", folder + "/")
            out.append(line)
        path = os.path.join("/etc/pam.d", service)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        self.cleanup.add(path, os.unlink, path)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(out) + "\n")
        return path

    def install_sudoers(self, user, service, extra=(), name=""):
        """The lines of pam.d-examples/sudoers.snippet for one user (the
        group %ci and the service name sudo-jwt substituted), checked with
        visudo -c -f, as a new /etc/sudoers.d file. Returns (ok, visudo's
        output)."""
        out = []
        for line in open(os.path.join(EX, "sudoers.snippet")).read().splitlines():
            if not line.startswith("#"):
                line = line.replace("%ci", user)
                line = re.sub(r"\bsudo-jwt\b", service, line)
            out.append(line)
        text = "\n".join(out + list(extra)) + "\n"
        staged = write(os.path.join(self.tmp, "sudoers-" + service), text, 0o440)
        p = run(["visudo", "-c", "-f", staged])
        if p.returncode != 0:
            return False, p.stdout + p.stderr
        path = "/etc/sudoers.d/pjtest-" + self.rand + name    # no dot: sudo would skip it
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o440)
        self.cleanup.add(path, os.unlink, path)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return True, p.stdout + p.stderr

    # -- sshd and ssh
    def hostkey(self):
        if self._hostkey is None:
            k = os.path.join(self.tmp, "host_ed25519")
            p = run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pjtest", "-f", k])
            if p.returncode != 0:
                raise RuntimeError("ssh-keygen: " + p.stderr)
            self._hostkey = k
        return self._hostkey

    def site(self, tag, example, users, **kw):
        return Site(self, tag, example, users, **kw)

    def tokfile(self, tok, owner=None):
        """The token in a file only its owner (root: the client side) reads."""
        d = self.client if owner is None else os.path.join(self.tmp, "home", owner)
        return write(os.path.join(d, "token-" + secrets.token_hex(4)), tok + "\n", 0o600, owner)

    def ssh(self, site, user, tok, askpass=None, cmd="id -un"):
        """Stock OpenSSH ssh without a tty (its own session, stdin /dev/null),
        keyboard-interactive, the token answered by the askpass program from
        PAM_JWT_TOKEN_FILE. Returns (rc, stdout, stderr, verdict lines)."""
        tf = self.tokfile(tok)
        env = {"PATH": "/usr/bin:/bin", "HOME": self.client, "LANG": "C",
               "SSH_ASKPASS": askpass or self.askpass, "SSH_ASKPASS_REQUIRE": "force",
               "PAM_JWT_TOKEN_FILE": tf}
        args = ["ssh", "-F", "/dev/null", "-T", "-p", str(site.port), "-l", user,
                "-o", "BatchMode=no",
                "-o", "PreferredAuthentications=keyboard-interactive",
                "-o", "KbdInteractiveAuthentication=yes",
                "-o", "NumberOfPasswordPrompts=1",
                "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=%s" % self.known,
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "ConnectTimeout=10",
                "-o", "LogLevel=ERROR",
                "127.0.0.1", cmd]
        m = self.log.mark()
        try:
            p = run(args, env=env, start_new_session=True)
        finally:
            os.unlink(tf)
        return p.returncode, p.stdout.strip(), p.stderr.strip(), self.log.verdicts(m, site.service)
