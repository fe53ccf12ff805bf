/* Whole-file reads and crash-safe writes.
 *
 * Every file mlpipe produces is written through mp_write_atomic: the bytes go
 * to a temporary file in the same directory, are flushed to disk, and the
 * temporary is renamed over the destination. Readers see the old file or the
 * new one, never half of one. */
#ifndef MP_CORE_FILEIO_H
#define MP_CORE_FILEIO_H

#include <stddef.h>

#include "core/error.h"

/* Reads a whole file into a NUL-terminated heap buffer (caller frees).
 * Gzip-compressed files are decompressed transparently. `path` "-" is stdin. */
int mp_read_file(const char *path, char **out, size_t *len, mp_error *e);
/* The same without gzip detection: the bytes exactly as stored. */
int mp_read_file_raw(const char *path, char **out, size_t *len, mp_error *e);

/* Writes `len` bytes to `path` atomically (temp file + fsync + rename). */
int mp_write_atomic(const char *path, const void *data, size_t len, mp_error *e);

/* Creates a directory and its parents (like mkdir -p). */
int mp_mkdirs(const char *path, mp_error *e);

/* Removes a directory tree (used to clean up a half-built temp directory). */
int mp_remove_tree(const char *path);

/* fsyncs a directory so that a rename inside it is durable. */
int mp_fsync_dir(const char *path);

/* 1 if path exists and is a directory, 0 otherwise. */
int mp_is_dir(const char *path);

#endif
