/* mlpipe split: the talk's "random distribution between training and
 * testing", with the test rows' actual targets reserved in a file of their
 * own for the evaluation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/strmap.h"
#include "data/table.h"
#include "ml/split.h"

static const char usage[] =
    "usage: mlpipe split DATA --target COL --train TRAIN.csv --test TEST.csv --actual ACTUAL.csv\n"
    "                    [--test-size 0.25] [--seed N] [--stratify] [--id COL] [--delimiter C]\n"
    "\n"
    "Splits the rows of DATA (CSV with a header) at random into training and testing\n"
    "rows. TRAIN gets every column; TEST gets every column but the target; ACTUAL\n"
    "holds id,<target> for the test rows, reserved for 'mlpipe eval'.\n"
    "\n"
    "  --target COL      the column to predict\n"
    "  --test-size X     fraction of rows for testing (0 < X < 1), or a row count (default 0.25)\n"
    "  --seed N          seed of the random split (default 42); the same seed gives the same split\n"
    "  --stratify        keep each target class's share equal in both parts\n"
    "  --id COL          the column that identifies rows; without it a zero-based 'id'\n"
    "                    column is added to all three files\n"
    "  --delimiter C     input delimiter (default: detected among , ; tab |)\n";

static const mp_flag flags[] = {
    {"target", 1, 0}, {"test-size", 1, 0}, {"seed", 1, 0}, {"stratify", 0, 0},
    {"train", 1, 0},  {"test", 1, 0},      {"actual", 1, 0}, {"id", 1, 0},
    {"delimiter", 1, 0}, {NULL, 0, 0},
};

/* Writes the header and the given rows of t; skip is a column to leave
 * out (-1 for none); with gen_id a zero-based id column comes first. */
static void write_rows(mp_buf *b, const mp_table *t, const size_t *rows, size_t n, int skip,
                       int gen_id)
{
    int first = 1;
    if (gen_id) {
        mp_buf_puts(b, "id");
        first = 0;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        if ((int)c == skip)
            continue;
        if (!first)
            mp_buf_putc(b, ',');
        mp_buf_csv_field(b, t->names[c], ',');
        first = 0;
    }
    mp_buf_putc(b, '\n');
    for (size_t i = 0; i < n; i++) {
        size_t r = rows[i];
        first = 1;
        if (gen_id) {
            mp_buf_printf(b, "%zu", r);
            first = 0;
        }
        for (size_t c = 0; c < t->ncols; c++) {
            if ((int)c == skip)
                continue;
            if (!first)
                mp_buf_putc(b, ',');
            mp_buf_csv_field(b, mp_table_cell(t, r, c), ',');
            first = 0;
        }
        mp_buf_putc(b, '\n');
    }
}

int mp_cmd_split(int argc, char **argv)
{
    mp_args a;
    int rc = mp_args_parse(argc, argv, flags, &a, usage);
    if (rc)
        return rc;
    if (a.help) {
        fputs(usage, stdout);
        return 0;
    }
    const char *target = mp_args_get(&a, "target"), *trainp = mp_args_get(&a, "train"),
               *testp = mp_args_get(&a, "test"), *actualp = mp_args_get(&a, "actual"),
               *idcol = mp_args_get(&a, "id");
    if (a.npos != 1 || !target || !trainp || !testp || !actualp) {
        fprintf(stderr, "mlpipe split: %s\n%s",
                a.npos != 1 ? "expected one DATA file" : "--target, --train, --test and --actual are required",
                usage);
        return 2;
    }
    double test_size;
    unsigned long seed;
    char delim;
    if (mp_args_double(&a, "split", "test-size", 0.25, &test_size) ||
        mp_args_ulong(&a, "split", "seed", 42, &seed) || mp_cli_delimiter(&a, "split", &delim))
        return 2;

    mp_error e = {0};
    mp_table *t = NULL;
    size_t *train = NULL, *test = NULL, *strata = NULL, ntrain = 0, ntest = 0;
    mp_buf btrain = {0}, btest = {0}, bactual = {0};
    mp_strmap *classes = NULL;
    if ((rc = mp_csv_read(a.pos[0], delim, &t, &e)))
        goto done;
    int tcol = mp_table_find(t, target);
    if (tcol < 0) {
        rc = mp_error_set(&e, MP_EINPUT, "%s: no column '%s'", t->source, target);
        goto done;
    }
    int icol = -1;
    if (idcol) {
        icol = mp_table_find(t, idcol);
        if (icol < 0) {
            rc = mp_error_set(&e, MP_EINPUT, "%s: no id column '%s'", t->source, idcol);
            goto done;
        }
        if (icol == tcol) {
            rc = mp_error_set(&e, MP_EINVAL, "the id and the target are the same column '%s'", idcol);
            goto done;
        }
        mp_strmap *seen = mp_strmap_create();
        for (size_t r = 0; seen && r < t->nrows; r++) {
            const char *id = mp_table_cell(t, r, (size_t)icol);
            if (mp_strmap_get(seen, id) >= 0) {
                rc = mp_error_set(&e, MP_EINPUT, "%s:%u:%u: duplicate id '%s' in column '%s'",
                                  t->source, t->line[r * t->ncols + (size_t)icol],
                                  t->col[r * t->ncols + (size_t)icol], id, idcol);
                break;
            }
            mp_strmap_put(seen, id, 1);
        }
        mp_strmap_destroy(seen);
        if (rc)
            goto done;
    } else if (mp_table_find(t, "id") >= 0) {
        rc = mp_error_set(&e, MP_EINVAL,
                          "%s already has a column 'id'; pass --id id to use it as the row id",
                          t->source);
        goto done;
    }
    size_t nclasses = 0;
    if (mp_args_has(&a, "stratify")) {
        strata = malloc(t->nrows * sizeof *strata);
        classes = mp_strmap_create();
        if (!strata || !classes) {
            rc = mp_error_set(&e, MP_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t r = 0; r < t->nrows; r++) {
            const char *y = mp_table_cell(t, r, (size_t)tcol);
            int c = mp_strmap_get(classes, y);
            if (c < 0) {
                c = (int)nclasses++;
                mp_strmap_put(classes, y, c);
            }
            strata[r] = (size_t)c;
        }
    }
    if ((rc = mp_split_train_test(t->nrows, test_size, seed, strata, nclasses, &train, &ntrain,
                                  &test, &ntest, &e)))
        goto done;
    write_rows(&btrain, t, train, ntrain, -1, !idcol);
    write_rows(&btest, t, test, ntest, tcol, !idcol);
    mp_buf_csv_field(&bactual, idcol ? idcol : "id", ',');
    mp_buf_putc(&bactual, ',');
    mp_buf_csv_field(&bactual, target, ',');
    mp_buf_putc(&bactual, '\n');
    for (size_t i = 0; i < ntest; i++) {
        size_t r = test[i];
        if (idcol)
            mp_buf_csv_field(&bactual, mp_table_cell(t, r, (size_t)icol), ',');
        else
            mp_buf_printf(&bactual, "%zu", r);
        mp_buf_putc(&bactual, ',');
        mp_buf_csv_field(&bactual, mp_table_cell(t, r, (size_t)tcol), ',');
        mp_buf_putc(&bactual, '\n');
    }
    /* Format everything first, then write: a formatting failure leaves no
     * file behind, and each file appears whole by rename. */
    if ((rc = mp_cli_write_output(trainp, &btrain, &e)) || (rc = mp_cli_write_output(testp, &btest, &e)) ||
        (rc = mp_cli_write_output(actualp, &bactual, &e)))
        goto done;
    printf("split %zu rows of %s: %zu training -> %s, %zu testing -> %s, actuals -> %s\n", t->nrows,
           a.pos[0], ntrain, trainp, ntest, testp, actualp);
done:
    mp_buf_free(&btrain);
    mp_buf_free(&btest);
    mp_buf_free(&bactual);
    mp_strmap_destroy(classes);
    free(strata);
    free(train);
    free(test);
    mp_table_destroy(t);
    return rc ? mp_cli_fail("split", &e) : 0;
}
