/* User-defined functions: the glue between the public extension API
 * (include/mlpipe_udf.h) and the function registry (sql/sql_func.h).
 *
 * A library (mp_udf_lib) is what one extension's entry point declared: its
 * functions, each with its overloads, as registry definitions whose bind
 * checks the declared parameter types (ksqlDB's implicit widening) and
 * whose implementations convert the arguments to those types, call the
 * extension through the public accessor API and check its result.
 *
 * Ownership: a library owns its definitions; it must outlive every
 * registry it was added to (and every query compiled against one).
 * Libraries loaded from shared objects by mp_udf_load_dir are kept in a
 * process-wide cache and never freed or unloaded (running queries hold
 * their function pointers), so loading the same file again, for a second
 * engine, reuses them without running the entry point twice.
 *
 * Thread-safety: building a library runs its entry point on the calling
 * thread; mp_udf_load_dir serialises loads under a process-wide lock.
 * Definitions are immutable once built. */
#ifndef MP_SQL_UDF_H
#define MP_SQL_UDF_H

#include "core/error.h"
#include "mlpipe_udf.h"
#include "sql/sql_func.h"

typedef struct mp_udf_lib mp_udf_lib;

/* An extension's entry point. */
typedef int (*mp_udf_init_fn)(mp_udf_registrar *r);

/* Runs init with a registrar and collects what it registers. `origin`
 * names the library in errors, DESCRIBE FUNCTION and clash reports (a file
 * path, or any label). A failed registration or a nonzero return fails
 * the build: MP_EINVAL "origin: message". */
int mp_udf_lib_build(mp_udf_init_fn init, const char *origin, mp_udf_lib **out, mp_error *e);
void mp_udf_lib_free(mp_udf_lib *lib);
/* The number of functions (names, not overloads) a library declared. */
size_t mp_udf_lib_count(const mp_udf_lib *lib);

/* Adds every function of the library to the registry, or none: a name
 * already in the registry is refused (MP_EEXIST naming the function, the
 * library and whether it is a built-in or which library has it), except
 * the library's own definitions, which are skipped (adding a library
 * twice is harmless). */
int mp_udf_lib_register(mp_fn_registry *r, const mp_udf_lib *lib, mp_error *e);

/* The same for several libraries at once, checked against the registry
 * and each other before any is added (mp_udf_load_dir's directory). */
int mp_udf_libs_register(mp_fn_registry *r, const mp_udf_lib *const *libs, size_t nlibs,
                         mp_error *e);

/* The library that defined a registry entry, or NULL for other functions
 * (built-ins, models). */
const char *mp_udf_origin(const mp_fn_def *def);

/* Loads every "*.so" in dir, in name order (bytewise), and adds their
 * functions to the registry, all or nothing. Errors name the file: one
 * that does not load, lacks mlpipe_udf_init or mlpipe_udf_api_version, was
 * built for another API version, fails its registrations, or declares a
 * name that a built-in function or another library has. A directory that
 * does not exist is MP_ENOTFOUND. */
int mp_udf_load_dir(mp_fn_registry *r, const char *dir, mp_error *e);

#endif
