/* Every layer kind the spec language knows (nn_spec.c lists them). */
#ifndef MP_NN_LAYERS_H
#define MP_NN_LAYERS_H

#include "nn/layer.h"

extern const mp_nn_layer_ops mp_nn_dense_ops;      /* dense(units) */
extern const mp_nn_layer_ops mp_nn_flatten_ops;    /* flatten */
extern const mp_nn_layer_ops mp_nn_relu_ops;       /* relu */
extern const mp_nn_layer_ops mp_nn_leaky_relu_ops; /* leaky_relu[(slope=0.01)] */
extern const mp_nn_layer_ops mp_nn_sigmoid_ops;    /* sigmoid */
extern const mp_nn_layer_ops mp_nn_tanh_ops;       /* tanh */
extern const mp_nn_layer_ops mp_nn_softmax_ops;    /* softmax (over a 1-D sample) */
extern const mp_nn_layer_ops mp_nn_dropout_ops;    /* dropout(p) */
extern const mp_nn_layer_ops mp_nn_batchnorm_ops;  /* batchnorm[(momentum=0.1, eps=1e-5)] */
extern const mp_nn_layer_ops mp_nn_conv2d_ops;     /* conv2d(out_channels, kernel[, stride=1, padding=0]) */
extern const mp_nn_layer_ops mp_nn_maxpool_ops;    /* maxpool(size[, stride=size]) */
extern const mp_nn_layer_ops mp_nn_avgpool_ops;    /* avgpool(size[, stride=size]) */
extern const mp_nn_layer_ops mp_nn_lstm_ops;       /* lstm(units[, sequences]) */
extern const mp_nn_layer_ops mp_nn_gru_ops;        /* gru(units[, sequences]) */

#endif
