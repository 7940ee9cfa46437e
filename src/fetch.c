/* The module side of fetching: spawn pam_jwt_fetch with no id 0 and no
 * capability on three pipes, collect its output within the deadline and a
 * size bound, reap it or kill it, judge what came back. No libcurl here,
 * and no signal disposition is ever changed (threaded hosts: sshd, sudo). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include "cache.h"
#include "err.h"
#include "fetch.h"
#include "num.h"
#include "trust.h"
#include "user.h"
#include "util.h"

#define CA_MAX ((size_t)1024 * 1024)
/* "STATUS MAX_AGE\n" is at most "999 2147483647\n". */
#define STATUS_LINE_MAX 32
#define OUT_MAX (PJ_FETCH_MAX_BYTES + STATUS_LINE_MAX)
#define ERR_MAX 512
#define GROUPS_MAX 65536	/* the kernel's NGROUPS_MAX */
#define WAIT_POLL_MS 2
#define HELPER_FD 3		/* where the child holds the helper for execveat */
/* The child's own exit codes, before the helper runs. */
#define CHILD_NOSTART 127	/* descriptors, parent gone, exec failed */
#define CHILD_PRIVS 126		/* an id 0 or a capability would have stayed */

/* Who runs the helper, all made before fork: no name service and no
 * malloc in the child. */
struct ids {
	int as_user;		/* 1: fetch_user's ids; 0: our effective ones */
	uid_t uid;
	gid_t gid;
	gid_t *groups;		/* as_user: fetch_user's groups, for setgroups */
	size_t ngroups;
	gid_t *check;		/* room for getgroups() in the child */
	size_t ncheck;
};

/* One run of the helper, as seen by the parent. */
struct run {
	pid_t pid;
	int pidfd, out, err;	/* -1 when none or closed */
	char *obuf;
	size_t olen, ocap, elen;
	char ebuf[ERR_MAX + 1];	/* the start of its stderr */
	char msg[PJ_ESC_MAX];	/* room for the reason that is logged */
	int status, reaped, killed;	/* reaped: 1 waited, -1 ECHILD, 0 not yet; killed: 1, -1 failed */
};

void
pj_fetch_out_clear(struct pj_fetch_out *o)
{
	free(o->body);
	memset(o, 0, sizeof(*o));
	o->max_age = -1;
}

int
pj_fetch_read_ca(const struct pj_config *cfg, const struct pj_log *lg, char **buf, size_t *len)
{
	const char *why = NULL;
	int fd = -1, r;

	*buf = NULL;
	*len = 0;
	if (cfg->ca_file == NULL)
		return 0;
	if (pj_trust_open(cfg->ca_file, PJ_TRUST_FILE, PJ_TRUST_RDONLY, &fd, &why) != 0) {
		pj_log(lg, LOG_ERR, "ca_file %s: %s", cfg->ca_file, why);
		return PJ_ERR_KEYS_UNAVAILABLE;
	}
	r = pj_read_all(fd, CA_MAX, buf, len);
	close(fd);
	if (r == 0 && *len == 0) {
		free(*buf);
		*buf = NULL;
		r = PJ_ERR_MALFORMED;
	}
	if (r != 0 && r != PJ_ERR_NOMEM) {
		pj_log(lg, LOG_ERR, "ca_file %s: %s", cfg->ca_file,
		    r == PJ_ERR_TOO_LARGE ? "larger than 1 MiB" : r == PJ_ERR_MALFORMED ? "empty" : "cannot read");
		r = PJ_ERR_KEYS_UNAVAILABLE;
	}
	return r;
}

static void
ids_clear(struct ids *ids)
{
	free(ids->groups);
	free(ids->check);
	memset(ids, 0, sizeof(*ids));
}

/* fetch_user's groups (its primary group among them), looked up here:
 * initgroups in the child would call the name service after fork. */
static int
user_groups(const char *name, gid_t gid, const struct pj_log *lg, struct ids *ids)
{
	gid_t *g = NULL, *ng;
	int n = 32, want;

	for (;;) {
		if ((ng = reallocarray(g, (size_t)n, sizeof(*g))) == NULL) {
			free(g);
			return PJ_ERR_NOMEM;
		}
		g = ng;
		want = n;
		if (getgrouplist(name, gid, g, &want) >= 0)
			break;
		if (want <= n || want > GROUPS_MAX) {
			free(g);
			pj_log(lg, LOG_ERR, "fetch_user %s: cannot list its groups", name);
			return PJ_ERR_KEYS_UNAVAILABLE;
		}
		n = want;
	}
	ids->groups = g;
	ids->ngroups = (size_t)want;
	return 0;
}

/* fetch_user (default _pam_jwt, else nobody), its ids and its groups. */
static int
user_ids(const struct pj_config *cfg, const struct pj_log *lg, struct ids *ids)
{
	static const char *const defaults[] = {"_pam_jwt", "nobody"};
	const char *names[2];
	struct passwd pw;
	size_t n = 0, i;
	char *buf = NULL;
	int r = PJ_ERR_USER_UNKNOWN;

	if (cfg->fetch_user != NULL)
		names[n++] = cfg->fetch_user;
	else {
		names[n++] = defaults[0];
		names[n++] = defaults[1];
	}
	for (i = 0; i < n && (r = pj_user_lookup(names[i], &pw, &buf)) != 0; i++)
		if (r == PJ_ERR_NOMEM)
			return r;
	if (r != 0) {
		pj_log(lg, LOG_ERR, "fetch_user %s: %s", names[n - 1],
		    r == PJ_ERR_USER_UNKNOWN ? "no such user" : "user lookup failed");
		return PJ_ERR_KEYS_UNAVAILABLE;
	}
	ids->uid = pw.pw_uid;
	ids->gid = pw.pw_gid;
	r = user_groups(pw.pw_name, pw.pw_gid, lg, ids);
	free(buf);
	return r;
}

/* fetch_user when any of our user ids is 0 (sshd, sudo, a daemon that
 * dropped only its effective id); else the effective ids. Whether that
 * leaves an id 0 or a capability is judged in the child (child_check). */
static int
fetch_identity(const struct pj_config *cfg, const struct pj_log *lg, struct ids *ids)
{
	uid_t ru, eu, su;
	size_t need;
	int n, r;

	memset(ids, 0, sizeof(*ids));
	if (getresuid(&ru, &eu, &su) != 0 || (n = getgroups(0, NULL)) < 0) {
		pj_log(lg, LOG_ERR, "fetch: cannot read our own ids: %s", strerror(errno));
		return PJ_ERR_KEYS_UNAVAILABLE;
	}
	if (ru == 0 || eu == 0 || su == 0) {
		ids->as_user = 1;
		if ((r = user_ids(cfg, lg, ids)) != 0)
			return r;
	} else {
		ids->uid = eu;
		ids->gid = getegid();
	}
	need = (size_t)n > ids->ngroups ? (size_t)n : ids->ngroups;
	ids->ncheck = need > 0 ? need : 1;
	if ((ids->check = calloc(ids->ncheck, sizeof(*ids->check))) == NULL)
		return PJ_ERR_NOMEM;
	return 0;
}

/* The helper as a descriptor, by the trust rule (trust.h), O_PATH: a 0711
 * helper is runnable, not readable, by a non-root caller, and what was
 * checked is what execveat runs. */
static int
open_helper(const char *path, int *fd, const char **why)
{
	if (pj_trust_open(path, PJ_TRUST_FILE, PJ_TRUST_PATH, fd, why) != 0)
		return PJ_ERR_KEYS_UNAVAILABLE;
	return 0;
}

/* In the child, before exec: only async-signal-safe calls. */
static void __attribute__((noreturn))
child_die(int code, const char *msg)
{
	size_t n = strlen(msg);

	if (write(STDERR_FILENO, msg, n) < 0)
		_exit(code);
	_exit(code);
}

/* The pipes on 0-2, the helper on HELPER_FD (close-on-exec), nothing else.
 * Any of them may sit on 0-3 already (a host with stdin closed): lift them
 * all above first, then place them. */
static int
child_fds(const int fds[3], int hfd)
{
	struct rlimit rl;
	int hi[4];

	for (int i = 0; i < 4; i++)
		if ((hi[i] = fcntl(i < 3 ? fds[i] : hfd, F_DUPFD_CLOEXEC, HELPER_FD + 1)) < 0)
			return -1;
	for (int i = 0; i < 3; i++)
		if (dup2(hi[i], i) != i)
			return -1;
	if (dup3(hi[3], HELPER_FD, O_CLOEXEC) != HELPER_FD)
		return -1;
	/* No other descriptor of the host crosses into the helper. */
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)HELPER_FD + 1, ~0U, 0U) != 0)
#endif
	{
		unsigned long max = 65536;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (1UL << 20))
			max = (unsigned long)rl.rlim_cur;
		for (unsigned long fd = HELPER_FD + 1; fd < max; fd++)
			(void)close((int)fd);
	}
	return 0;
}

/* All three user and group ids, and the groups when we may set them. */
static int
child_set_ids(const struct ids *ids)
{
	if (ids->as_user) {
		/* Back to euid 0 first (one of the three is 0, so this is
		 * allowed): the capabilities for the calls below come with it. */
		if (geteuid() != 0 && setresuid((uid_t)-1, 0, (uid_t)-1) != 0)
			return -1;
		if (setgroups(ids->ngroups, ids->groups) != 0)
			return -1;
	}
	if (setresgid(ids->gid, ids->gid, ids->gid) != 0 ||
	    setresuid(ids->uid, ids->uid, ids->uid) != 0)
		return -1;
	return 0;
}

/* Empty every capability set. Leaving uid 0 clears the permitted and
 * effective sets, but the kernel keeps the inheritable one, and a non-root
 * caller may hold file capabilities: lowering is always allowed. */
static int
child_drop_caps(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {{0, 0, 0}};

	if (syscall(SYS_capset, &h, d) != 0)
		return -1;
	return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

/* The rule itself, read back from the kernel: no id 0 anywhere, no
 * capability. NULL when it holds, else the line to report. */
static const char *
child_check(const struct ids *ids)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int n;

	if (getresuid(&ru, &eu, &su) != 0 || ru == 0 || eu == 0 || su == 0)
		return "pam_jwt: fetch_helper not run: a user id would be 0\n";
	if (getresgid(&rg, &eg, &sg) != 0 || rg == 0 || eg == 0 || sg == 0)
		return "pam_jwt: fetch_helper not run: a group id would be 0\n";
	if ((n = getgroups((int)ids->ncheck, ids->check)) < 0)
		return "pam_jwt: fetch_helper not run: cannot read its groups\n";
	for (int i = 0; i < n; i++)
		if (ids->check[i] == 0)
			return "pam_jwt: fetch_helper not run: group 0 among its groups\n";
	if (syscall(SYS_capget, &h, d) != 0)
		return "pam_jwt: fetch_helper not run: cannot read its capabilities\n";
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (d[i].permitted != 0 || d[i].effective != 0 || d[i].inheritable != 0)
			return "pam_jwt: fetch_helper not run: a capability would remain\n";
	return NULL;
}

static void __attribute__((noreturn))
child(const struct ids *ids, const int fds[3], int hfd, pid_t parent, char **argv)
{
	static char *envp[] = {NULL};
	const char *why;

	if (child_fds(fds, hfd) != 0)
		_exit(CHILD_NOSTART);
	if (child_set_ids(ids) != 0)
		child_die(CHILD_PRIVS,
		    "pam_jwt: fetch_helper not run: cannot set its user and group ids\n");
	if (child_drop_caps() != 0)
		child_die(CHILD_PRIVS, "pam_jwt: fetch_helper not run: cannot drop capabilities\n");
	if ((why = child_check(ids)) != NULL)
		child_die(CHILD_PRIVS, why);
	/* After the id change, which clears it; exec keeps it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != parent)
		_exit(CHILD_NOSTART);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		child_die(CHILD_NOSTART, "pam_jwt: cannot set no_new_privs\n");
	if (chdir("/") != 0)
		child_die(CHILD_NOSTART, "pam_jwt: cannot chdir to /\n");
	syscall(SYS_execveat, HELPER_FD, "", argv, envp, AT_EMPTY_PATH);
	/* A script: its interpreter reads it as /dev/fd/3, which the kernel
	 * refuses (ENOENT) on a close-on-exec descriptor. For a script alone,
	 * the descriptor stays open. */
	if (errno == ENOENT && fcntl(HELPER_FD, F_SETFD, 0) == 0)
		syscall(SYS_execveat, HELPER_FD, "", argv, envp, AT_EMPTY_PATH);
	child_die(CHILD_NOSTART, "pam_jwt: cannot run fetch_helper\n");
}

/*
 * Put the CA bundle in the stdin pipe before the fork, while we still hold
 * the read end: a write can then never raise SIGPIPE in the host.
 */
static int
fill_stdin(int wfd, const char *ca, size_t calen)
{
	size_t off = 0;
	ssize_t w;
	int sz;

	if (calen == 0)
		return 0;
	if (calen > 65536 && ((sz = fcntl(wfd, F_SETPIPE_SZ, (int)calen)) < 0 || (size_t)sz < calen))
		return -1;
	if (fcntl(wfd, F_SETFL, O_NONBLOCK) != 0)
		return -1;
	while (off < calen) {
		if ((w = write(wfd, ca + off, calen - off)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

/* Pipes, the CA bundle, fork. On success run->pid, ->pidfd, ->out, ->err. */
static int
spawn(const struct ids *ids, int hfd, char **argv, const char *ca, size_t calen, struct run *run,
    const char **why)
{
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1}, cfds[3];
	pid_t parent = getpid();
	int r = PJ_ERR_KEYS_UNAVAILABLE;

	if (pipe2(pin, O_CLOEXEC) != 0 || pipe2(pout, O_CLOEXEC) != 0 ||
	    pipe2(perr, O_CLOEXEC) != 0) {
		*why = "cannot make pipes";
		goto out;
	}
	/* Our read ends only: the helper's ends stay blocking. */
	if (fcntl(pout[0], F_SETFL, O_NONBLOCK) != 0 || fcntl(perr[0], F_SETFL, O_NONBLOCK) != 0) {
		*why = "fcntl";
		goto out;
	}
	if (ca != NULL && fill_stdin(pin[1], ca, calen) != 0) {
		*why = "the ca_file content does not fit in a pipe";
		goto out;
	}
	close(pin[1]);
	pin[1] = -1;
	cfds[0] = pin[0];
	cfds[1] = pout[1];
	cfds[2] = perr[1];
	if ((run->pid = fork()) < 0) {
		*why = "cannot fork";
		goto out;
	}
	if (run->pid == 0)
		child(ids, cfds, hfd, parent, argv);
#ifdef SYS_pidfd_open
	run->pidfd = (int)syscall(SYS_pidfd_open, run->pid, 0);
#endif
	run->out = pout[0];
	run->err = perr[0];
	pout[0] = perr[0] = -1;
	r = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	return r;
}

/* Drain stdout into run->obuf, at most OUT_MAX bytes; closed at EOF. */
static int
read_out(struct run *run, const char **why)
{
	ssize_t got;
	char *nb;

	for (;;) {
		if (run->olen == run->ocap) {
			if (run->ocap >= OUT_MAX + 1) {
				*why = "response over 1 MiB";
				return PJ_ERR_TOO_LARGE;
			}
			run->ocap = run->ocap == 0 ? 16384 : run->ocap * 2;
			if (run->ocap > OUT_MAX + 1)
				run->ocap = OUT_MAX + 1;
			if ((nb = realloc(run->obuf, run->ocap)) == NULL) {
				*why = "out of memory";
				return PJ_ERR_NOMEM;
			}
			run->obuf = nb;
		}
		got = read(run->out, run->obuf + run->olen, run->ocap - run->olen);
		if (got > 0) {
			run->olen += (size_t)got;
			if (run->olen > OUT_MAX) {
				*why = "response over 1 MiB";
				return PJ_ERR_TOO_LARGE;
			}
			continue;
		}
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == EAGAIN)
			return 0;
		close(run->out);	/* EOF, or an error: no more */
		run->out = -1;
		return 0;
	}
}

/* Drain stderr: keep its start, drop the rest; closed at EOF. */
static void
read_err(struct run *run)
{
	char sink[512];
	ssize_t got;

	for (;;) {
		if (run->elen < ERR_MAX)
			got = read(run->err, run->ebuf + run->elen, ERR_MAX - run->elen);
		else
			got = read(run->err, sink, sizeof(sink));
		if (got > 0) {
			if (run->elen < ERR_MAX)
				run->elen += (size_t)got;
			continue;
		}
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == EAGAIN)
			return;
		close(run->err);
		run->err = -1;
		return;
	}
}

/* Read both pipes until the helper closes them, or the deadline. */
static int
collect(struct run *run, const struct timespec *deadline, const char **why)
{
	struct pollfd pfd[2];
	long left;
	int r;

	while (run->out >= 0 || run->err >= 0) {
		if ((left = pj_deadline_left_ms(deadline)) <= 0) {
			*why = "http_timeout reached";
			return PJ_ERR_KEYS_UNAVAILABLE;
		}
		pfd[0].fd = run->out;	/* poll skips a negative fd */
		pfd[1].fd = run->err;
		pfd[0].events = pfd[1].events = POLLIN;
		if (poll(pfd, 2, left > INT_MAX ? INT_MAX : (int)left) < 0) {
			if (errno == EINTR)
				continue;
			*why = "poll";
			return PJ_ERR_KEYS_UNAVAILABLE;
		}
		if (run->out >= 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    (r = read_out(run, why)) != 0)
			return r;
		if (run->err >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			read_err(run);
	}
	return 0;
}

/* 1 when the signal was sent; 0 when it could not be (a helper running as
 * another user, from a host without CAP_KILL): it then ends at its own
 * --timeout, which the deadline bounds too. */
static int
kill_child(pid_t pid, int pidfd)
{
#ifdef SYS_pidfd_send_signal
	if (pidfd >= 0)
		return syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0;
#endif
	(void)pidfd;
	return kill(pid, SIGKILL) == 0;
}

/*
 * Wait for the helper's pid within the deadline (both pipes closed: it is
 * exiting), or kill it first when kill_now or the deadline passes. ECHILD:
 * the host reaped it, and its output alone is judged. 0 when it ended by
 * itself.
 */
static int
reap_or_kill(struct run *run, const struct timespec *deadline, int kill_now, const char **why)
{
	struct timespec ts = {0, WAIT_POLL_MS * 1000000L};
	pid_t w;

	while (!kill_now) {
		w = waitpid(run->pid, &run->status, WNOHANG);
		if (w == run->pid) {
			run->reaped = 1;
			return 0;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			run->reaped = -1;
			return 0;
		}
		if (pj_deadline_left_ms(deadline) <= 0) {
			*why = "http_timeout reached";
			break;
		}
		nanosleep(&ts, NULL);
	}
	run->killed = kill_child(run->pid, run->pidfd) ? 1 : -1;
	while (waitpid(run->pid, &run->status, 0) < 0 && errno == EINTR)
		;
	return PJ_ERR_KEYS_UNAVAILABLE;
}

/* "STATUS MAX_AGE\n" then the body: STATUS 100-999, MAX_AGE digits or "-". */
static const char *
parse_output(char *buf, size_t len, struct pj_fetch_out *out)
{
	long long v;
	char *nl;

	if (len == 0)
		return "no output";
	if ((nl = memchr(buf, '\n', len < STATUS_LINE_MAX ? len : STATUS_LINE_MAX)) == NULL)
		return "no status line";
	if (nl - buf < 5 || buf[3] != ' ' || pj_num_parse(buf, 3, 100, 999, 0, &v) != 0)
		return "bad status line";
	out->status = (int)v;
	if (nl - buf == 5 && buf[4] == '-')
		out->max_age = -1;
	else if (pj_num_parse(buf + 4, (size_t)(nl - buf - 4), 0, INT_MAX, 0, &v) == 0)
		out->max_age = (long)v;
	else
		return "bad max-age";
	out->len = len - (size_t)(nl + 1 - buf);
	if (out->len > PJ_FETCH_MAX_BYTES)
		return "body over 1 MiB";
	if ((out->body = malloc(out->len + 1)) == NULL)
		return "out of memory";
	memcpy(out->body, nl + 1, out->len);
	out->body[out->len] = '\0';
	return NULL;
}

/* Did the helper succeed, and with a 2xx response? */
static int
judge(struct run *run, struct pj_fetch_out *out, const char **why)
{
	int failed = run->reaped == 1 && !(WIFEXITED(run->status) && WEXITSTATUS(run->status) == 0);

	run->ebuf[run->elen] = '\0';
	run->ebuf[strcspn(run->ebuf, "\n")] = '\0';
	if ((failed || run->reaped == -1) && run->elen > 0) {
		*why = pj_escape(run->msg, run->ebuf, strlen(run->ebuf));
		return PJ_ERR_KEYS_UNAVAILABLE;
	}
	if (failed) {
		if (WIFSIGNALED(run->status))
			*why = "fetch_helper killed by a signal";
		else if (WEXITSTATUS(run->status) == CHILD_PRIVS)
			*why = "fetch_helper not run: an id 0 or a capability would remain";
		else
			*why = "fetch_helper failed";
		return PJ_ERR_KEYS_UNAVAILABLE;
	}
	if ((*why = parse_output(run->obuf, run->olen, out)) != NULL)
		return PJ_ERR_KEYS_UNAVAILABLE;
	if (out->status < 200 || out->status > 299) {
		snprintf(run->msg, sizeof(run->msg), "HTTP status %d%s", out->status,
		    out->status >= 300 && out->status < 400 ? " (redirects are never followed)" : "");
		*why = run->msg;
		return PJ_ERR_KEYS_UNAVAILABLE;
	}
	return 0;
}

int
pj_fetch(const struct pj_config *cfg, const struct pj_log *lg, const char *url, const char *ca,
    size_t calen, const struct timespec *deadline, struct pj_fetch_out *out)
{
	char a_timeout[] = "--timeout", a_max[] = "--max-bytes", a_ca[] = "--ca-stdin";
	char s_timeout[24], s_max[24], eurl[PJ_ESC_MAX];
	char *argv[8], *urlcopy = NULL;
	struct run run = {.pid = -1, .pidfd = -1, .out = -1, .err = -1};
	const char *why = NULL;
	struct ids ids;
	int hfd = -1, r, r2;
	long left, secs;

	memset(out, 0, sizeof(*out));
	out->max_age = -1;
	pj_escape(eurl, url, strlen(url));
	if ((r = fetch_identity(cfg, lg, &ids)) != 0)
		goto out;
	if ((r = open_helper(cfg->fetch_helper, &hfd, &why)) != 0) {
		pj_log(lg, LOG_ERR, "fetch_helper %s: %s", cfg->fetch_helper, why);
		goto out;
	}
	if ((left = pj_deadline_left_ms(deadline)) <= 0) {
		why = "http_timeout passed before it could start";
		r = PJ_ERR_KEYS_UNAVAILABLE;
		goto fail;
	}
	/* The helper's own timeout: what is left of ours, rounded up. */
	secs = (left + 999) / 1000;
	secs = secs < 1 ? 1 : secs > 60 ? 60 : secs;
	snprintf(s_timeout, sizeof(s_timeout), "%ld", secs);
	snprintf(s_max, sizeof(s_max), "%zu", PJ_FETCH_MAX_BYTES);
	if ((urlcopy = strdup(url)) == NULL) {
		r = PJ_ERR_NOMEM;
		goto out;
	}
	/* Everything the child needs is made before fork: no malloc there. */
	argv[0] = cfg->fetch_helper;
	argv[1] = urlcopy;
	argv[2] = a_timeout;
	argv[3] = s_timeout;
	argv[4] = a_max;
	argv[5] = s_max;
	argv[6] = ca != NULL ? a_ca : NULL;
	argv[7] = NULL;
	if ((r = spawn(&ids, hfd, argv, ca, calen, &run, &why)) != 0)
		goto fail;
	r = collect(&run, deadline, &why);
	r2 = reap_or_kill(&run, deadline, r != 0, &why);
	if (r == 0 && (r = r2) == 0 && (r = judge(&run, out, &why)) == 0)
		goto out;
fail:
	pj_log(lg, LOG_ERR, "fetch %s: %s%s", eurl, why != NULL ? why : "failed",
	    run.killed > 0 ? " (fetch_helper killed)" :
	    run.killed < 0 ? " (fetch_helper could not be killed: it ends at its own timeout)" : "");
	pj_fetch_out_clear(out);
	if (r != PJ_ERR_NOMEM)
		r = PJ_ERR_KEYS_UNAVAILABLE;
out:
	if (run.out >= 0)
		close(run.out);
	if (run.err >= 0)
		close(run.err);
	if (run.pidfd >= 0)
		close(run.pidfd);
	if (hfd >= 0)
		close(hfd);
	free(run.obuf);
	free(urlcopy);
	ids_clear(&ids);
	return r;
}
