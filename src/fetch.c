/* The module side of fetching: spawn pam_jwt_fetch as fetch_user on three
 * pipes, bound it in time and size, judge what comes back. No libcurl here,
 * and no signal disposition is ever changed (threaded hosts: sshd, sudo). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "err.h"
#include "fetch.h"
#include "util.h"

#define CA_MAX ((size_t)1024 * 1024)
/* "STATUS MAX_AGE\n" is at most "999 2147483647\n". */
#define STATUS_LINE_MAX 32
#define OUT_MAX (PJ_FETCH_MAX_BYTES + STATUS_LINE_MAX)
#define ERR_MAX 512
#define PW_BUF_MAX ((size_t)1024 * 1024)
#define WAIT_POLL_MS 2

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
	if (pj_open_safely(cfg->ca_file, 0, &fd, &why) != 0) {
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

/* Who runs the helper: fetch_user (default _pam_jwt, else nobody) when we
 * are root, never uid 0; ourselves otherwise. */
static int
fetch_identity(const struct pj_config *cfg, const struct pj_log *lg, int *do_switch, uid_t *uid,
    gid_t *gid)
{
	static const char *const defaults[] = {"_pam_jwt", "nobody"};
	const char *names[2];
	struct passwd pw, *res = NULL;
	size_t n = 0, cap = 16384;
	char *buf = NULL, *nb;
	int e = 0;

	*do_switch = 0;
	if (geteuid() != 0)
		return 0;
	if (cfg->fetch_user != NULL)
		names[n++] = cfg->fetch_user;
	else {
		names[n++] = defaults[0];
		names[n++] = defaults[1];
	}
	for (size_t i = 0; i < n && res == NULL; i++) {
		for (;;) {
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				return PJ_ERR_NOMEM;
			}
			buf = nb;
			e = getpwnam_r(names[i], &pw, buf, cap, &res);
			if (e != ERANGE || cap >= PW_BUF_MAX)
				break;
			cap *= 4;
		}
	}
	free(buf);	/* uid and gid are copied below; the strings are not used */
	if (res == NULL) {
		pj_log(lg, LOG_ERR, "fetch_user %s: no such user%s%s", names[n - 1],
		    e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
		return PJ_ERR_KEYS_UNAVAILABLE;
	}
	if (pw.pw_uid == 0) {
		pj_log(lg, LOG_ERR, "fetch_user: never a user with uid 0");
		return PJ_ERR_KEYS_UNAVAILABLE;
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	*do_switch = 1;
	return 0;
}

/* In the child, before execve: only async-signal-safe calls. */
static void __attribute__((noreturn))
child_die(const char *msg)
{
	size_t n = strlen(msg);

	if (write(STDERR_FILENO, msg, n) < 0)
		_exit(127);
	_exit(127);
}

static void __attribute__((noreturn))
child(int fds[3], int do_switch, uid_t uid, gid_t gid, const char *path, char **argv)
{
	static char *envp[] = {NULL};
	struct rlimit rl;
	int hi[3];

	/* Any end may be 0-2 already (a host with stdin closed): lift them
	 * above 2 first, then place them. */
	for (int i = 0; i < 3; i++)
		if ((hi[i] = fcntl(fds[i], F_DUPFD, 3)) < 0)
			_exit(127);
	for (int i = 0; i < 3; i++)
		if (dup2(hi[i], i) != i)
			_exit(127);
	/* No other descriptor of the host crosses into the helper. */
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
	{
		unsigned long max = 65536;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (1UL << 20))
			max = (unsigned long)rl.rlim_cur;
		for (unsigned long fd = 3; fd < max; fd++)
			(void)close((int)fd);
	}
	if (do_switch) {
		if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
		    setresuid(uid, uid, uid) != 0)
			child_die("pam_jwt: cannot switch to fetch_user\n");
		/* Paranoia: no way back. */
		if (getuid() != uid || geteuid() != uid || getegid() != gid || setuid(0) == 0)
			child_die("pam_jwt: fetch_user switch incomplete\n");
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		child_die("pam_jwt: cannot set no_new_privs\n");
	if (chdir("/") != 0)
		child_die("pam_jwt: cannot chdir to /\n");
	execve(path, argv, envp);
	child_die("pam_jwt: cannot run fetch_helper\n");
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

static void
kill_child(pid_t pid, int pidfd)
{
#ifdef SYS_pidfd_send_signal
	if (pidfd >= 0) {
		(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		return;
	}
#endif
	(void)pidfd;
	(void)kill(pid, SIGKILL);
}

/* "STATUS MAX_AGE\n" then the body. */
static const char *
parse_output(char *buf, size_t len, struct pj_fetch_out *out)
{
	char *nl, *p;
	long v;

	if (len == 0)
		return "no output";
	if ((nl = memchr(buf, '\n', len < STATUS_LINE_MAX ? len : STATUS_LINE_MAX)) == NULL)
		return "no status line";
	if (nl - buf < 5 || buf[0] < '1' || buf[0] > '9' || buf[1] < '0' || buf[1] > '9' ||
	    buf[2] < '0' || buf[2] > '9' || buf[3] != ' ')
		return "bad status line";
	out->status = (buf[0] - '0') * 100 + (buf[1] - '0') * 10 + (buf[2] - '0');
	if (nl - buf == 5 && buf[4] == '-')
		out->max_age = -1;
	else {
		if (nl - (buf + 4) > 10)
			return "bad max-age";
		for (v = 0, p = buf + 4; p < nl; p++) {
			if (*p < '0' || *p > '9')
				return "bad max-age";
			v = v * 10 + (*p - '0');
		}
		out->max_age = v;
	}
	out->len = len - (size_t)(nl + 1 - buf);
	if (out->len > PJ_FETCH_MAX_BYTES)
		return "body over 1 MiB";
	if ((out->body = malloc(out->len + 1)) == NULL)
		return "out of memory";
	memcpy(out->body, nl + 1, out->len);
	out->body[out->len] = '\0';
	return NULL;
}

int
pj_fetch(const struct pj_config *cfg, const struct pj_log *lg, const char *url, const char *ca,
    size_t calen, const struct timespec *deadline, struct pj_fetch_out *out)
{
	char a_timeout[] = "--timeout", a_max[] = "--max-bytes", a_ca[] = "--ca-stdin";
	char s_timeout[24], s_max[24], ebuf[ERR_MAX + 1], eurl[PJ_ESC_MAX], eline[PJ_ESC_MAX];
	char *argv[8], *obuf = NULL, *urlcopy = NULL, *nb;
	const char *why = NULL;
	struct pollfd pfd[2];
	size_t olen = 0, ocap = 0, elen = 0;
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1}, cfds[3];
	int do_switch = 0, pidfd = -1, status = 0, reaped = 0, killed = 0, r = PJ_ERR_KEYS_UNAVAILABLE;
	long left, secs;
	uid_t uid = 0;
	gid_t gid = 0;
	pid_t pid = -1, w;
	ssize_t got;

	memset(out, 0, sizeof(*out));
	out->max_age = -1;
	pj_escape(eurl, url, strlen(url));
	if ((r = fetch_identity(cfg, lg, &do_switch, &uid, &gid)) != 0)
		return r;
	r = PJ_ERR_KEYS_UNAVAILABLE;
	if ((left = pj_deadline_left_ms(deadline)) <= 0) {
		pj_log(lg, LOG_ERR, "fetch %s: http_timeout passed before it could start", eurl);
		return r;
	}
	/* The helper's own timeout: what is left of ours, rounded up. */
	secs = (left + 999) / 1000;
	secs = secs < 1 ? 1 : secs > 60 ? 60 : secs;
	snprintf(s_timeout, sizeof(s_timeout), "%ld", secs);
	snprintf(s_max, sizeof(s_max), "%zu", PJ_FETCH_MAX_BYTES);
	if ((urlcopy = strdup(url)) == NULL)
		return PJ_ERR_NOMEM;
	/* Everything the child needs is made before fork: no malloc there. */
	argv[0] = cfg->fetch_helper;
	argv[1] = urlcopy;
	argv[2] = a_timeout;
	argv[3] = s_timeout;
	argv[4] = a_max;
	argv[5] = s_max;
	argv[6] = ca != NULL ? a_ca : NULL;
	argv[7] = NULL;
	if (pipe2(pin, O_CLOEXEC) != 0 || pipe2(pout, O_CLOEXEC) != 0 || pipe2(perr, O_CLOEXEC) != 0) {
		why = "cannot make pipes";
		goto fail;
	}
	if (ca != NULL && fill_stdin(pin[1], ca, calen) != 0) {
		why = "the ca_file content does not fit in a pipe";
		goto fail;
	}
	close(pin[1]);
	pin[1] = -1;
	cfds[0] = pin[0];
	cfds[1] = pout[1];
	cfds[2] = perr[1];
	if ((pid = fork()) < 0) {
		why = "cannot fork";
		goto fail;
	}
	if (pid == 0)
		child(cfds, do_switch, uid, gid, cfg->fetch_helper, argv);
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	pin[0] = pout[1] = perr[1] = -1;
	if (fcntl(pout[0], F_SETFL, O_NONBLOCK) != 0 || fcntl(perr[0], F_SETFL, O_NONBLOCK) != 0) {
		why = "fcntl";
		goto kill;
	}

	pfd[0].fd = pout[0];
	pfd[1].fd = perr[0];
	pfd[0].events = pfd[1].events = POLLIN;
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		if ((left = pj_deadline_left_ms(deadline)) <= 0) {
			why = "http_timeout reached";
			goto kill;
		}
		if (poll(pfd, 2, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			why = "poll";
			goto kill;
		}
		if (pfd[0].fd >= 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			for (;;) {
				if (olen == ocap) {
					if (ocap >= OUT_MAX + 1) {
						why = "response over 1 MiB";
						goto kill;
					}
					ocap = ocap == 0 ? 16384 : ocap * 2;
					if (ocap > OUT_MAX + 1)
						ocap = OUT_MAX + 1;
					if ((nb = realloc(obuf, ocap)) == NULL) {
						r = PJ_ERR_NOMEM;
						why = "out of memory";
						goto kill;
					}
					obuf = nb;
				}
				got = read(pout[0], obuf + olen, ocap - olen);
				if (got > 0) {
					olen += (size_t)got;
					if (olen > OUT_MAX) {
						why = "response over 1 MiB";
						goto kill;
					}
					continue;
				}
				if (got < 0 && errno == EINTR)
					continue;
				if (got < 0 && errno == EAGAIN)
					break;
				close(pout[0]);	/* EOF, or an error: no more */
				pout[0] = pfd[0].fd = -1;
				break;
			}
		}
		if (pfd[1].fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			char sink[512];

			for (;;) {
				/* Keep the start; read and drop the rest. */
				if (elen < ERR_MAX)
					got = read(perr[0], ebuf + elen, ERR_MAX - elen);
				else
					got = read(perr[0], sink, sizeof(sink));
				if (got > 0) {
					if (elen < ERR_MAX)
						elen += (size_t)got;
					continue;
				}
				if (got < 0 && errno == EINTR)
					continue;
				if (got < 0 && errno == EAGAIN)
					break;
				close(perr[0]);
				perr[0] = pfd[1].fd = -1;
				break;
			}
		}
	}
	/* Both pipes closed: the helper is exiting. Reap it, within the deadline. */
	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			reaped = 1;
			break;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			/* ECHILD: the host reaped it; judge by the output alone. */
			reaped = -1;
			break;
		}
		if ((left = pj_deadline_left_ms(deadline)) <= 0) {
			why = "http_timeout reached";
			goto kill;
		}
		{
			struct timespec ts = {0, WAIT_POLL_MS * 1000000L};

			nanosleep(&ts, NULL);
		}
	}
	goto judge;

kill:
	kill_child(pid, pidfd);
	killed = 1;
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	goto fail;

judge:
	ebuf[elen] = '\0';
	ebuf[strcspn(ebuf, "\n")] = '\0';
	if (reaped == 1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		if (elen > 0)
			why = pj_escape(eline, ebuf, strlen(ebuf));
		else if (WIFSIGNALED(status))
			why = "fetch_helper killed by a signal";
		else
			why = "fetch_helper failed";
		goto fail;
	}
	if (reaped == -1 && elen > 0) {
		why = pj_escape(eline, ebuf, strlen(ebuf));
		goto fail;
	}
	if ((why = parse_output(obuf, olen, out)) != NULL)
		goto fail;
	if (out->status < 200 || out->status > 299) {
		snprintf(ebuf, sizeof(ebuf), "HTTP status %d%s", out->status,
		    out->status >= 300 && out->status < 400 ? " (redirects are never followed)" : "");
		why = ebuf;
		goto fail;
	}
	r = 0;
	goto out;

fail:
	pj_log(lg, LOG_ERR, "fetch %s: %s%s", eurl, why != NULL ? why : "failed",
	    killed ? " (fetch_helper killed)" : "");
	pj_fetch_out_clear(out);
	if (r == 0)
		r = PJ_ERR_KEYS_UNAVAILABLE;
out:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	if (pidfd >= 0)
		close(pidfd);
	free(obuf);
	free(urlcopy);
	return r;
}
