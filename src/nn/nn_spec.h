/* Internal to src/nn: the network spec language and the table of layer
 * kinds.
 *
 *   spec  := space* [layer (space+ layer)*] space*
 *   layer := name ['(' [arg (',' arg)*] ')']
 *   arg   := [name '='] (number | name)
 *
 * Spaces are allowed around parentheses, commas and '='. Layer names are
 * matched without regard to case. Errors name the 1-based character
 * position in the spec, or for an unknown layer its index and the known
 * kinds. */
#ifndef MP_NN_SPEC_H
#define MP_NN_SPEC_H

#include <stddef.h>

#include "core/error.h"
#include "nn/layer.h"

typedef struct mp_nn_spec_layer {
    const mp_nn_layer_ops *ops;
    char *text;       /* normalised: no spaces, "leaky_relu(slope=0.2)" */
    mp_nn_arg *args;  /* nargs entries; their key and word strings are owned here too */
    size_t nargs;
    size_t pos;       /* 1-based position of the layer's name in the spec */
} mp_nn_spec_layer;

/* A parsed spec; owns every string and array it points to. */
typedef struct mp_nn_spec {
    size_t n;
    mp_nn_spec_layer *layers;
} mp_nn_spec;

/* Parses spec into *out (zeroed first; free with mp_nn_spec_free even
 * after an error). A spec with no layers parses to n == 0. */
int mp_nn_spec_parse(const char *spec, mp_nn_spec *out, mp_error *e);
void mp_nn_spec_free(mp_nn_spec *s);

/* The layer kind named name[0..len) (any case), or NULL. */
const mp_nn_layer_ops *mp_nn_spec_find(const char *name, size_t len);
/* Every known kind, in the order messages list them; *n receives the count. */
const mp_nn_layer_ops *const *mp_nn_spec_kinds(size_t *n);

#endif
