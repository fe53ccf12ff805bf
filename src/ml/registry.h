/* The model registry: versioned model directories on disk.
 *
 *     <model_dir>/<version>/model.safetensors
 *
 * A version is a directory named by a positive decimal integer without
 * leading zeros ("1", "2", ... "10"); any other entry of model_dir (files,
 * ".tmp-*" directories of a publish in progress or one that crashed, "007")
 * is not a version and is ignored. A version is written into a temporary
 * directory and renamed into place in one step, so a reader never sees a
 * half-written version, and a version, once there, is never modified.
 *
 * Thread-safety: the functions keep no state; any of them may run at the
 * same time from several threads or processes on the same model_dir.
 * Concurrent publishers each receive a distinct version number.
 *
 * Errors: MP_ENOTFOUND for a missing model directory or version, MP_EIO for
 * operating-system failures, MP_EINVAL for bad arguments (e.g. a path too
 * long for dir_out), each with a message naming the path. */
#ifndef MP_ML_REGISTRY_H
#define MP_ML_REGISTRY_H

#include <stddef.h>

#include "core/error.h"

/* The name of the model file inside a version directory. */
#define MP_REGISTRY_MODEL_FILE "model.safetensors"

/* The versions under model_dir in ascending order. *versions is a heap array
 * the caller frees (NULL when *n is 0). A model_dir that does not exist is
 * MP_ENOTFOUND; an existing one without versions gives *n = 0. */
int mp_registry_versions(const char *model_dir, long **versions, size_t *n, mp_error *e);

/* The highest version; MP_ENOTFOUND "DIR: no model versions" when none. */
int mp_registry_latest(const char *model_dir, long *version, mp_error *e);

/* Writes the files of a new version into tmpdir (an empty directory that
 * exists); returns 0 or a negative MP_E* code with e filled. It should write
 * at least one file: an empty version directory is refused. */
typedef int (*mp_registry_writer)(const char *tmpdir, void *ctx, mp_error *e);

/* Publishes a new version: creates model_dir if needed, makes a fresh
 * "<model_dir>/.tmp-XXXXXX", calls fn(tmpdir, ctx, e), flushes the files to
 * disk and renames the directory to the next free version number (highest
 * existing + 1, starting at 1). Renaming onto an existing version fails, so
 * when another publisher claims that number first this one takes the next.
 * On success *version (may be NULL) receives the number. On any failure the
 * temporary directory is removed and no version appears; fn's error is
 * returned unchanged. */
int mp_registry_publish(const char *model_dir, mp_registry_writer fn, void *ctx, long *version,
                        mp_error *e);

/* Resolves what a user passed to "--model":
 *   "DIR"    a model directory: its latest version;
 *   "DIR/N"  a version directory: N is all digits and DIR/N holds
 *            model.safetensors or is a directory.
 * A model directory whose own name is all digits still resolves to its latest
 * version when it holds versions and no model file. Writes the version
 * directory's path into dir_out (dir_out_len bytes; MP_EINVAL if too small)
 * and the number into *version (may be NULL). A missing version is
 * MP_ENOTFOUND "DIR: no version N (versions: 1, 2, 3)". */
int mp_registry_resolve(const char *path, char *dir_out, size_t dir_out_len, long *version,
                        mp_error *e);

#endif
