/*
 * The reuse cache: the library's one mutable global (DESIGN.md). A host
 * that authenticates many users in one process (a VPN or RADIUS backend, a
 * mail server's auth worker) would otherwise parse the same configuration
 * and key set, and import the same keys, at every login.
 *
 * - Bounded: ENTRIES_MAX of each kind, the least recently used evicted.
 * - One mutex: two threads may call pam_authenticate on different handles.
 * - Entries are reference-counted objects (pj_configs_ref, pj_jwks_ref): a
 *   login keeps its set while another thread replaces or evicts the entry.
 * - fork: the atfork handlers (registered once) take the mutex around
 *   fork, so a child never inherits it locked; the child forgets the
 *   entries (they stay reachable, not freed: freeing in the child of a
 *   threaded process is not safe). The pid tag catches a fork that ran no
 *   handlers.
 * - Never freed as a whole: pam_jwt.so is linked -z nodelete and stays
 *   resident, so what is kept here is reachable until exit.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "conf.h"
#include "jwk.h"
#include "reuse.h"
#include "sig.h"

#define ENTRIES_MAX 4
#define KEY_MAX 65536	/* longer module arguments are not kept */

struct entry {
	struct entry *next;
	char *key;		/* the argument string, or the path */
	size_t keylen;
	int has_id;
	struct pj_file_id id;
	struct pj_configs *configs;	/* one of these two */
	struct pj_jwks *jwks;		/* with its built keys (jwks->built) */
};

struct store {
	pthread_mutex_t mu;
	pid_t pid;
	struct entry *configs, *jwks;	/* most recently used first */
	struct entry *inherited;	/* a parent's entries, forgotten after fork */
};

static struct store store = {PTHREAD_MUTEX_INITIALIZER, 0, NULL, NULL, NULL};
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	pj_configs_free(e->configs);
	pj_jwks_free(e->jwks);
	free(e->key);
	free(e);
}

/* The parent's entries stay reachable from here, never used again. */
static void
forget(void)
{
	struct entry **tail = &store.inherited;

	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = store.configs;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = store.jwks;
	store.configs = store.jwks = NULL;
	store.pid = getpid();
}

static void
fork_prepare(void)
{
	pthread_mutex_lock(&store.mu);
}

static void
fork_parent(void)
{
	pthread_mutex_unlock(&store.mu);
}

static void
fork_child(void)
{
	forget();
	pthread_mutex_unlock(&store.mu);
}

static void
init_once(void)
{
	(void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static void
lock(void)
{
	pthread_once(&once, init_once);
	pthread_mutex_lock(&store.mu);
	if (store.pid != getpid())
		forget();
}

static void
unlock(void)
{
	pthread_mutex_unlock(&store.mu);
}

int
pj_file_id_get(int fd, struct pj_file_id *id)
{
	struct timespec now;
	struct stat st;
	int64_t recent;

	memset(id, 0, sizeof(*id));
	if (fstat(fd, &st) != 0 || clock_gettime(CLOCK_REALTIME, &now) != 0)
		return -1;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	id->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	recent = ((int64_t)now.tv_sec - 1) * 1000000000 + now.tv_nsec;
	/* A time ahead of our clock is recent too. */
	return id->mtime_ns < recent && id->ctime_ns < recent;
}

int
pj_file_id_same(const struct pj_file_id *a, const struct pj_file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

/* The entry of key in list (moved to the front), or NULL. One whose file
 * is another one is dropped. */
static struct entry *
find(struct entry **list, const char *key, size_t keylen, const struct pj_file_id *id)
{
	struct entry **p, *e;

	for (p = list; (e = *p) != NULL; p = &e->next) {
		if (e->keylen != keylen || memcmp(e->key, key, keylen) != 0)
			continue;
		*p = e->next;
		if ((id != NULL) != e->has_id || (id != NULL && !pj_file_id_same(id, &e->id))) {
			entry_free(e);
			return NULL;
		}
		e->next = *list;
		*list = e;
		return e;
	}
	return NULL;
}

/* e in front of list, replacing the entry of its key; the oldest past
 * ENTRIES_MAX is dropped. */
static void
insert(struct entry **list, struct entry *e)
{
	struct entry **p, *old;
	size_t n = 1;

	for (p = list; (old = *p) != NULL;) {
		if (old->keylen == e->keylen && memcmp(old->key, e->key, e->keylen) == 0) {
			*p = old->next;
			entry_free(old);
		} else
			p = &old->next;
	}
	e->next = *list;
	*list = e;
	for (p = &e->next; *p != NULL; p = &(*p)->next) {
		if (++n > ENTRIES_MAX) {
			old = *p;
			*p = NULL;
			while (old != NULL) {
				struct entry *next = old->next;

				entry_free(old);
				old = next;
			}
			break;
		}
	}
}

static struct entry *
entry_new(const char *key, size_t keylen, const struct pj_file_id *id)
{
	struct entry *e;

	if (keylen > KEY_MAX || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->key = malloc(keylen + 1)) == NULL) {
		free(e);
		return NULL;
	}
	memcpy(e->key, key, keylen);
	e->key[keylen] = '\0';
	e->keylen = keylen;
	if (id != NULL) {
		e->has_id = 1;
		e->id = *id;
	}
	return e;
}

struct pj_configs *
pj_reuse_configs_get(const char *key, size_t keylen, const struct pj_file_id *id)
{
	struct pj_configs *set = NULL;
	struct entry *e;

	lock();
	if ((e = find(&store.configs, key, keylen, id)) != NULL)
		set = pj_configs_ref(e->configs);
	unlock();
	return set;
}

void
pj_reuse_configs_put(const char *key, size_t keylen, const struct pj_file_id *id,
    struct pj_configs *set)
{
	struct entry *e;

	if ((e = entry_new(key, keylen, id)) == NULL)
		return;	/* not kept: the next login parses again */
	e->configs = pj_configs_ref(set);
	lock();
	insert(&store.configs, e);
	unlock();
}

struct pj_jwks *
pj_reuse_jwks_get(const char *path, const struct pj_file_id *id)
{
	struct pj_jwks *set = NULL;
	struct entry *e;

	lock();
	if ((e = find(&store.jwks, path, strlen(path), id)) != NULL)
		set = pj_jwks_ref(e->jwks);
	unlock();
	return set;
}

void
pj_reuse_jwks_put(const char *path, const struct pj_file_id *id, struct pj_jwks *set)
{
	struct entry *e;

	/* Not shared yet: only this login holds set. */
	if (set->built != NULL || set->n == 0 || (set->built = calloc(set->n, sizeof(*set->built))) == NULL)
		return;
	if ((e = entry_new(path, strlen(path), id)) == NULL)
		return;
	e->jwks = pj_jwks_ref(set);
	lock();
	insert(&store.jwks, e);
	unlock();
}

int
pj_reuse_key_get(const struct pj_jwks *set, size_t i, struct pj_sig_key *out)
{
	int found = 0;

	if (set->built == NULL || i >= set->n)
		return 0;
	lock();
	if (pj_sig_key_ready(&set->built[i])) {
		*out = set->built[i];
		found = 1;
	}
	unlock();
	return found;
}

/*
 * Sharing an EVP_PKEY between threads. OpenSSL allows concurrent use of a
 * key for verification once it is built; what it fills lazily on first use
 * (the RSA Montgomery context, set under its own lock; the provider-side
 * key export cache of the EVP_PKEY) is filled by the verify the building
 * login ran before calling this: we publish only a key that has just
 * verified a signature, so later users only read it, each with its own
 * EVP_MD_CTX and EVP_PKEY_CTX, the only objects a verification writes.
 * TSan cannot see inside Debian's uninstrumented libcrypto, so this is
 * argued, not measured. What TSan does see: the key is published and read
 * under our mutex, and freed only with its set, when the set's last
 * reference (our atomic, acquire-release) is dropped, after every login
 * that used it dropped its own; no login frees it (no EVP_PKEY_up_ref,
 * whose atomics TSan could not see either).
 */
int
pj_reuse_key_put(const struct pj_jwks *set, size_t i, struct pj_sig_key *key)
{
	int taken = 0;

	if (set->built == NULL || i >= set->n || !pj_sig_key_ready(key))
		return 0;
	lock();
	if (!pj_sig_key_ready(&set->built[i])) {
		set->built[i] = *key;
		memset(key, 0, sizeof(*key));
		taken = 1;
	}
	unlock();
	return taken;
}
