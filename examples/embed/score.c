/* Embedding mlpipe: load a saved model and score CSV rows from stdin.
 *
 *   score MODEL_DIR[/VERSION] < rows.csv
 *
 * The first line of stdin is a header naming the columns (any order; extra
 * columns are ignored, an "id" column is echoed). Each following line is
 * scored as it arrives, so this also works on a live stream of rows. Output:
 * id,prediction per row. Fields are separated by commas (no quoting).
 * Build: cc score.c -lmlpipe (see the project's CMakeLists.txt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlpipe.h"

#define MAX_FIELDS 4096

/* Splits line in place on commas; returns the number of fields. */
static size_t split(char *line, char **fields)
{
    size_t n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line;; p++) {
        if (n == MAX_FIELDS)
            return n;
        fields[n++] = p;
        p = strchr(p, ',');
        if (!p)
            break;
        *p = '\0';
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL_DIR[/VERSION] < rows.csv\n", argv[0]);
        return 2;
    }
    char *err = NULL;
    mp_model *m = NULL;
    if (mp_model_open(argv[1], &m, &err)) {
        fprintf(stderr, "score: %s\n", err);
        mp_free(err);
        return 2;
    }
    size_t nin = mp_model_num_inputs(m);
    static char *fields[MAX_FIELDS];
    char *line = NULL, *header = NULL;
    size_t cap = 0;
    int status = 0;
    long *where = calloc(nin ? nin : 1, sizeof *where);
    const char **cells = calloc(nin ? nin : 1, sizeof *cells);
    if (!where || !cells || getline(&line, &cap, stdin) < 0) {
        fprintf(stderr, "score: expected a header line on stdin\n");
        status = 2;
        goto out;
    }
    header = strdup(line);
    size_t nh = split(header, fields);
    long id_col = -1;
    for (size_t h = 0; h < nh; h++)
        if (!strcmp(fields[h], "id"))
            id_col = (long)h;
    for (size_t j = 0; j < nin; j++) {
        where[j] = -1;
        for (size_t h = 0; h < nh; h++)
            if (!strcmp(fields[h], mp_model_input_name(m, j)))
                where[j] = (long)h;
        if (where[j] < 0) {
            fprintf(stderr, "score: stdin:1: no column '%s', which the model needs\n", mp_model_input_name(m, j));
            status = 2;
            goto out;
        }
    }
    printf("id,prediction\n");
    for (long lineno = 2, row = 0; getline(&line, &cap, stdin) >= 0; lineno++) {
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        size_t nf = split(line, fields);
        if (nf != nh) {
            fprintf(stderr, "score: stdin:%ld: %zu fields, the header has %zu\n", lineno, nf, nh);
            status = 2;
            row++;
            continue;
        }
        for (size_t j = 0; j < nin; j++)
            cells[j] = fields[where[j]];
        size_t label;
        double value;
        if (mp_predict_row(m, cells, &label, NULL, &value, &err)) {
            fprintf(stderr, "score: stdin:%ld: %s\n", lineno, err);
            mp_free(err);
            err = NULL;
            status = 2;
            row++;
            continue;
        }
        if (id_col >= 0)
            printf("%s,", fields[id_col]);
        else
            printf("%ld,", row);
        if (mp_model_is_classifier(m))
            printf("%s\n", mp_model_class_label(m, label));
        else
            printf("%.17g\n", value);
        fflush(stdout);
        row++;
    }
out:
    free(line);
    free(header);
    free(where);
    free(cells);
    mp_model_free(m);
    return status;
}
