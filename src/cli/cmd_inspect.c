/* mlpipe inspect: what a saved model is and which versions exist. */
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ml/model.h"
#include "ml/registry.h"

static const char usage[] =
    "usage: mlpipe inspect --model DIR[/N] [--json]\n"
    "\n"
    "Shows the algorithm, hyper-parameters, input features, labels and training\n"
    "metrics of version N of DIR (the newest when N is omitted), and lists all\n"
    "versions of DIR.\n";

static const mp_flag flags[] = {{"model", 1, 0}, {"json", 0, 0}, {NULL, 0, 0}};

int mp_cmd_inspect(int argc, char **argv)
{
    mp_args a;
    int rc = mp_args_parse(argc, argv, flags, &a, usage);
    if (rc)
        return rc;
    if (a.help) {
        fputs(usage, stdout);
        return 0;
    }
    const char *model = mp_args_get(&a, "model");
    if (!model && a.npos == 1)
        model = a.pos[0];
    if (!model) {
        fprintf(stderr, "mlpipe inspect: --model is required\n%s", usage);
        return 2;
    }
    mp_error e = {0};
    mp_model *m = NULL;
    long version, *versions = NULL;
    size_t nversions = 0;
    char vdir[PATH_MAX], parent[PATH_MAX];
    if ((rc = mp_registry_resolve(model, vdir, sizeof vdir, &version, &e)))
        goto done;
    if ((rc = mp_model_load(vdir, &m, NULL, &e)))
        goto done;
    snprintf(parent, sizeof parent, "%s", vdir);
    dirname(parent);
    if ((rc = mp_registry_versions(parent, &versions, &nversions, &e)))
        goto done;
    if (mp_args_has(&a, "json")) {
        json_t *o = json_object();
        json_object_set_new(o, "path", json_string(vdir));
        json_object_set_new(o, "version", json_integer(version));
        json_object_set_new(o, "algorithm", json_string(m->algo->name));
        json_object_set_new(o, "task", json_string(mp_task_name(m->task)));
        if (m->task == MP_TASK_ANOMALY)
            json_object_set_new(o, "threshold", json_real(mp_model_threshold(m)));
        json_object_set_new(o, "target", json_string(m->target));
        json_object_set_new(o, "params", json_loads(m->params_json ? m->params_json : "{}", 0, NULL));
        json_t *f = json_array();
        for (size_t j = 0; j < m->prep.ncols; j++)
            json_array_append_new(f, json_pack("{s:s,s:s}", "name", m->prep.cols[j].name, "type",
                                               m->prep.cols[j].kind == MP_COL_CATEGORICAL ? "categorical" : "numeric"));
        json_object_set_new(o, "features", f);
        json_t *l = json_array();
        for (size_t c = 0; c < m->nclasses; c++)
            json_array_append_new(l, json_string(m->classes[c]));
        json_object_set_new(o, "labels", l);
        json_object_set_new(o, "training_metrics", json_loads(m->metrics_json ? m->metrics_json : "{}", 0, NULL));
        json_t *vs = json_array();
        for (size_t i = 0; i < nversions; i++)
            json_array_append_new(vs, json_integer(versions[i]));
        json_object_set_new(o, "versions", vs);
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (s)
            puts(s);
        free(s);
        goto done;
    }
    printf("model:      %s (version %ld)\n", vdir, version);
    printf("algorithm:  %s (%s)\n", m->algo->name, mp_task_name(m->task));
    if (m->task == MP_TASK_ANOMALY)
        printf("threshold:  %.6g (anomaly score above which a row is flagged)\n", mp_model_threshold(m));
    printf("parameters: %s\n", m->params_json ? m->params_json : "{}");
    printf("target:     %s    id: %s\n", m->target, m->id_name);
    printf("preprocess: scale=%s missing=%s %s\n", mp_scale_name(m->prep.scale), mp_missing_name(m->prep.missing),
           m->prep.onehot ? "one-hot" : "category codes");
    printf("features:   %zu input columns -> %zu model features\n", m->prep.ncols, m->prep.nout);
    size_t shown = m->prep.ncols < 12 ? m->prep.ncols : 12;
    for (size_t j = 0; j < shown; j++) {
        const mp_prep_col *c = &m->prep.cols[j];
        if (c->kind == MP_COL_CATEGORICAL)
            printf("  %-20s categorical (%zu levels)\n", c->name, c->nlevels);
        else
            printf("  %-20s numeric\n", c->name);
    }
    if (shown < m->prep.ncols)
        printf("  ... and %zu more\n", m->prep.ncols - shown);
    if (m->nimage_dims == 2)
        printf("images:     %zu x %zu\n", m->image_dims[0], m->image_dims[1]);
    else if (m->nimage_dims == 3)
        printf("images:     %zu x %zu x %zu\n", m->image_dims[0], m->image_dims[1], m->image_dims[2]);
    if (m->task == MP_TASK_CLASSIFY) {
        printf("labels:     ");
        for (size_t c = 0; c < m->nclasses; c++)
            printf("%s%s", c ? ", " : "", m->classes[c]);
        printf("\n");
    }
    printf("trained:    %s on %zu rows in %.3f s\n", m->created ? m->created : "?", m->ntrain, m->train_seconds);
    printf("metrics:    %s\n", m->metrics_json ? m->metrics_json : "{}");
    if (m->fit_info_json)
        printf("solver:     %s\n", m->fit_info_json);
    printf("versions:   ");
    for (size_t i = 0; i < nversions; i++)
        printf("%s%ld%s", i ? ", " : "", versions[i], versions[i] == version ? "*" : "");
    printf("\n");
done:
    free(versions);
    mp_model_release(m);
    return rc ? mp_cli_fail("inspect", &e) : 0;
}
