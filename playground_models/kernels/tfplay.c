/* TensorFlow Playground mode's training loop in C: TF's per-example forward and backward pass,
   its batch updates and its L1/L2 rule, in double, every sum taken in TF's order (bias first,
   then inputs in order; examples in order). playground_models/tfcompat/engine.py holds the same
   algorithm in numpy; this file only makes it fast (one call per epoch instead of one numpy
   call per layer per batch). Built like kernels/mlp.c, with -ffp-contract=off so no fused
   multiply-add changes a bit.

   Layout: weights layer by layer, W[out][in] row-major; biases layer by layer; `dead` one byte
   per weight; acc_w/acc_b the gradient sums TF carries between updates (and across epochs after
   a partial batch); counts[0] the number of examples in those sums. */

#include <math.h>
#include <stdint.h>
#include <string.h>

enum { ACT_RELU, ACT_TANH, ACT_SIGMOID, ACT_LINEAR };
enum { REG_NONE, REG_L1, REG_L2 };
#define MAX_LAYERS 16
#define MAX_NODES 1024 /* nodes in all layers together, inputs included */

/* Must match `TfSpec` in tfcompat/fast.py field for field. */
typedef struct {
    int32_t n_layers;              /* weight layers */
    int32_t sizes[MAX_LAYERS + 1]; /* inputs, hidden widths..., 1 */
    int32_t act, out_act, reg, batch_size;
    double lr, reg_rate;
} tf_spec;

static double act_out(int a, double x) {
    switch (a) {
    case ACT_RELU: return isnan(x) ? x : (x > 0 ? x : 0); /* Math.max(0, x) keeps NaN */
    case ACT_TANH: return tanh(x);
    case ACT_SIGMOID: return 1 / (1 + exp(-x));
    default: return x;
    }
}

static double act_der(int a, double x) {
    switch (a) {
    case ACT_RELU: return x <= 0 ? 0 : 1;
    case ACT_TANH: { double o = tanh(x); return 1 - o * o; }
    case ACT_SIGMOID: { double o = 1 / (1 + exp(-x)); return o * (1 - o); }
    default: return 1;
    }
}

/* Forward one example; z and a hold every node's total input and output, layer after layer. */
static void forward(const tf_spec *s, const double *w, const double *b, const double *x,
                    double *z, double *a) {
    int off = 0, wo = 0, bo = 0;
    memcpy(a, x, sizeof(double) * s->sizes[0]);
    for (int l = 0; l < s->n_layers; l++) {
        int nin = s->sizes[l], nout = s->sizes[l + 1];
        int act = l == s->n_layers - 1 ? s->out_act : s->act;
        const double *in = a + off;
        double *zo = z + off + nin, *ao = a + off + nin;
        for (int i = 0; i < nout; i++) {
            double t = b[bo + i];
            for (int j = 0; j < nin; j++) t += w[wo + i * nin + j] * in[j];
            zo[i] = t;
            ao[i] = act_out(act, t);
        }
        off += nin; wo += nin * nout; bo += nout;
    }
}

static int node_offset(const tf_spec *s, int layer) { /* layer 0 = inputs */
    int off = 0;
    for (int l = 0; l < layer; l++) off += s->sizes[l];
    return off;
}

static void update(const tf_spec *s, double *w, double *b, uint8_t *dead, double *acc_w,
                   double *acc_b, int32_t *count) {
    int n = count[0], wo = 0, bo = 0;
    if (n <= 0) return;
    double step = s->lr * s->reg_rate;
    for (int l = 0; l < s->n_layers; l++) {
        int nin = s->sizes[l], nout = s->sizes[l + 1];
        for (int i = 0; i < nout; i++) {
            b[bo + i] -= s->lr * acc_b[bo + i] / n;
            acc_b[bo + i] = 0;
            for (int j = 0; j < nin; j++) {
                int k = wo + i * nin + j;
                if (dead[k]) continue;
                double wv = w[k];
                double rd = s->reg == REG_L1 ? (wv < 0 ? -1 : (wv > 0 ? 1 : 0))
                          : s->reg == REG_L2 ? wv : 0;
                wv = wv - (s->lr / n) * acc_w[k];
                double nw = wv - step * rd;
                if (s->reg == REG_L1 && wv * nw < 0) { /* crossed zero: pruned for good */
                    w[k] = 0;
                    dead[k] = 1;
                } else {
                    w[k] = nw;
                }
                acc_w[k] = 0;
            }
        }
        wo += nin * nout; bo += nout;
    }
    count[0] = 0;
}

/* `epochs` of TF's oneStep over x (n rows of sizes[0] features) and labels y. 0, or -1 on a
   spec this kernel cannot hold. */
int tf_train(const tf_spec *s, double *w, double *b, uint8_t *dead, double *acc_w,
             double *acc_b, int32_t *count, const double *x, const double *y, int32_t n,
             int32_t epochs) {
    double z[MAX_NODES], a[MAX_NODES], der[MAX_NODES], out_der[MAX_NODES];
    if (s->n_layers < 1 || s->n_layers > MAX_LAYERS) return -1;
    if (node_offset(s, s->n_layers + 1) > MAX_NODES) return -1;
    int L = s->n_layers, nin0 = s->sizes[0];
    for (int e = 0; e < epochs; e++) {
        for (int p = 0; p < n; p++) {
            forward(s, w, b, x + (size_t)p * nin0, z, a);
            int out = node_offset(s, L);
            out_der[out] = a[out] - y[p];
            int wo = 0, bo = 0;
            for (int l = 0; l < L; l++) { wo += s->sizes[l] * s->sizes[l + 1]; bo += s->sizes[l + 1]; }
            for (int l = L; l >= 1; l--) {
                int nin = s->sizes[l - 1], nout = s->sizes[l];
                int off = node_offset(s, l), prev = off - nin;
                int act = l == L ? s->out_act : s->act;
                wo -= nin * nout; bo -= nout;
                for (int i = 0; i < nout; i++) {
                    der[off + i] = out_der[off + i] * act_der(act, z[off + i]);
                    acc_b[bo + i] += der[off + i];
                }
                for (int i = 0; i < nout; i++)
                    for (int j = 0; j < nin; j++) {
                        int k = wo + i * nin + j;
                        if (!dead[k]) acc_w[k] += der[off + i] * a[prev + j];
                    }
                if (l == 1) continue;
                for (int j = 0; j < nin; j++) {
                    double d = 0;
                    for (int i = 0; i < nout; i++) d += w[wo + i * nin + j] * der[off + i];
                    out_der[prev + j] = d;
                }
            }
            count[0] += 1;
            if ((p + 1) % s->batch_size == 0) update(s, w, b, dead, acc_w, acc_b, count);
        }
    }
    return 0;
}

/* TF's getLoss: the mean of ½(output − label)², summed point by point. */
double tf_loss(const tf_spec *s, const double *w, const double *b, const double *x,
               const double *y, int32_t n) {
    double z[MAX_NODES], a[MAX_NODES], sum = 0;
    int out = node_offset(s, s->n_layers), nin0 = s->sizes[0];
    for (int p = 0; p < n; p++) {
        forward(s, w, b, x + (size_t)p * nin0, z, a);
        double d = a[out] - y[p];
        sum += 0.5 * (d * d);
    }
    return sum / n;
}

/* Outputs for n points, for accuracy and drawing. */
void tf_predict(const tf_spec *s, const double *w, const double *b, const double *x,
                int32_t n, double *outv) {
    double z[MAX_NODES], a[MAX_NODES];
    int out = node_offset(s, s->n_layers), nin0 = s->sizes[0];
    for (int p = 0; p < n; p++) {
        forward(s, w, b, x + (size_t)p * nin0, z, a);
        outv[p] = a[out];
    }
}
