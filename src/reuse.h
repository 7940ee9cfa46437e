/* Reuse across logins in one process (pam_jwt(8), issue 15): the parsed
 * configuration set and the parsed key sets with their imported keys, kept
 * while their files are the same ones. Never a verdict or a signature. */
#ifndef PJ_REUSE_H
#define PJ_REUSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pj_configs;
struct pj_jwks;
struct pj_sig_key;

/* What tells one version of a file from another: fstat of the descriptor
 * that was opened (and trust-checked) at this login. chmod and chown change
 * only the change time; a rename over it gives another inode. */
struct pj_file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns, ctime_ns;
};

/*
 * fd's identity. Returns 1 when it may be kept, 0 when the file changed
 * within the last second (a same-size rewrite inside one timestamp tick
 * would look the same: never kept, never looked up), negative on error.
 */
int pj_file_id_get(int fd, struct pj_file_id *id);
int pj_file_id_same(const struct pj_file_id *a, const struct pj_file_id *b);

/*
 * Configuration sets, by key (the mode and the module arguments, joined)
 * and the config= file's identity (NULL: no file). get returns a new
 * reference (pj_configs_free drops it) or NULL; an entry whose file is
 * another one is dropped. put keeps a reference of its own, replacing the
 * entry of the same key. The caller checks what the key does not cover
 * (user_map files, paths, fetch_user) before trusting a hit.
 */
struct pj_configs *pj_reuse_configs_get(const char *key, size_t keylen, const struct pj_file_id *id);
void pj_reuse_configs_put(const char *key, size_t keylen, const struct pj_file_id *id,
    struct pj_configs *set);

/* Key sets (jwks_file, or a cache's .jwks), by path and identity; the same
 * rules (a reference; pj_jwks_free drops it). */
struct pj_jwks *pj_reuse_jwks_get(const char *path, const struct pj_file_id *id);
void pj_reuse_jwks_put(const char *path, const struct pj_file_id *id, struct pj_jwks *set);

/*
 * The imported key of set->keys[i] (set->built, filled by put), when a
 * login built it and verified with it: 1 and *out, borrowed while the
 * caller holds its reference to set (never cleared by the caller), else 0.
 * put hands a key that has just verified a signature (warmed: reuse.c) to
 * a set that reuse keeps: 1 when taken (*key emptied), else 0 (the caller
 * clears it).
 */
int pj_reuse_key_get(const struct pj_jwks *set, size_t i, struct pj_sig_key *out);
int pj_reuse_key_put(const struct pj_jwks *set, size_t i, struct pj_sig_key *key);

#endif
