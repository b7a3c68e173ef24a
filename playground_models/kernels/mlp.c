/* netplay's fast path: one call trains a small MLP on a whole list of minibatches.

   The reference path (playground_models/reference.py: autograd + torch.optim) defines what
   training means; this file derives the same forward pass, backward pass, penalties and update
   rules by hand, in float32, and mirrors torch's order of operations where it is cheap to do so
   (bias added after the dot product, addcmul as self + (value*t1)*t2, Adam's bias corrections in
   double), so the two paths agree to within float rounding.

   Why C: on nets of a few dozen parameters the time of a PyTorch step is call overhead, not
   arithmetic. A whole epoch here is one foreign call and a few microseconds of loops.

   Layout: parameters are one flat float32 array, layer by layer W[out][in] then b[out] (PyTorch's
   layout). Optimizer state is two more arrays of the same length plus a step counter. Nothing is
   global, so concurrent calls on different models (server worker threads) are safe. */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The enums (ACT_*, LOSS_*, REG_*, OPT_*, in the order of playground_models/rules.py) and the
   optimizers' constants (ADADELTA_RHO, ADAM_BETA1, ...): generated from that table when
   fastpath.py builds this file, so the two cannot drift apart. */
#include "rules.h"

#define MAX_LAYERS 16 /* weight layers; the config table allows 8 hidden + 1 output */

/* Must match `KernelSpec` in fastpath.py field for field. */
typedef struct {
    int32_t n_layers;                /* weight layers = hidden layers + 1 */
    int32_t sizes[MAX_LAYERS + 1];   /* inputs, hidden widths..., outputs */
    int32_t acts[MAX_LAYERS];        /* one per hidden layer */
    int32_t loss, reg, optimizer;
    double reg_rate, lr, momentum;   /* doubles, cast where torch casts its Python scalars */
} mlp_spec;

/* GELU, tanh form, with torch's constants: sqrt(2/pi) and 0.044715. */
static const float GELU_BETA = (float)(M_SQRT2 * M_2_SQRTPI * 0.5);
static const float GELU_KAPPA = 0.044715f;

static float activate(int act, float z) {
    switch (act) {
    case ACT_RELU: return z > 0.0f ? z : 0.0f;
    case ACT_TANH: return tanhf(z);
    case ACT_SIGMOID: return 1.0f / (1.0f + expf(-z));
    case ACT_LEAKYRELU: return z > 0.0f ? z : z * LEAKY_RELU_SLOPE;
    case ACT_ELU: return z > 0.0f ? z : expm1f(z);
    case ACT_GELU: {
        float inner = GELU_BETA * (z + GELU_KAPPA * (z * z * z));
        return 0.5f * z * (1.0f + tanhf(inner));
    }
    case ACT_SINE: return sinf(z);
    default: return z; /* linear */
    }
}

/* d activation / dz. torch differentiates tanh and sigmoid through their output h, the others
   through their input z; doing the same keeps the rounding alike. */
static float activate_grad(int act, float z, float h) {
    switch (act) {
    case ACT_RELU: return z > 0.0f ? 1.0f : 0.0f;
    case ACT_TANH: return 1.0f - h * h;
    case ACT_SIGMOID: return (1.0f - h) * h;
    case ACT_LEAKYRELU: return z > 0.0f ? 1.0f : LEAKY_RELU_SLOPE;
    case ACT_ELU: return z <= 0.0f ? expf(z) : 1.0f;
    case ACT_GELU: {
        float x2 = z * z;
        float t = tanhf(GELU_BETA * (z + GELU_KAPPA * x2 * z));
        float left = 0.5f * z, right = 1.0f + t;
        float inner_grad = GELU_BETA * (1.0f + 3.0f * GELU_KAPPA * x2);
        return 0.5f * right + left * (1.0f - t * t) * inner_grad;
    }
    case ACT_SINE: return cosf(z);
    default: return 1.0f;
    }
}

static float sgn(float v) { return (float)((v > 0.0f) - (v < 0.0f)); }

/* Mean data loss of one batch, and its gradient d loss / d scores into `ds` [B][C] (for the
   softmax loss, only when `ds` is not NULL). */
static float loss_and_grad(int loss, const float *s, int B, int C, const int64_t *cls,
                           const float *val, const int64_t *rows, float *ds) {
    float total = 0.0f;
    if (loss == LOSS_SOFTMAX) {
        /* cross_entropy = nll(log_softmax): d = g − exp(logp)·Σg with g = −1/B at the label. */
        float g = -1.0f / (float)B;
        for (int r = 0; r < B; r++) {
            const float *sr = s + r * C;
            int64_t y = cls[rows[r]];
            float m = sr[0];
            for (int j = 1; j < C; j++) m = sr[j] > m ? sr[j] : m;
            float sum = 0.0f;
            for (int j = 0; j < C; j++) sum += expf(sr[j] - m);
            float log_sum = logf(sum);
            total -= sr[y] - m - log_sum;
            if (!ds) continue; /* the loss alone (a frame's metrics) */
            float *dr = ds + r * C;
            for (int j = 0; j < C; j++) {
                float logp = sr[j] - m - log_sum;
                dr[j] = (j == y ? g : 0.0f) - expf(logp) * g;
            }
        }
        return total / (float)B;
    }
    if (loss == LOSS_HINGE) {
        /* Weston–Watkins: Σ_j max(0, s_j − s_y + 1) − 1; clamp passes gradient where margin ≥ 0. */
        float g = 1.0f / (float)B;
        for (int r = 0; r < B; r++) {
            const float *sr = s + r * C;
            float *dr = ds + r * C;
            int64_t y = cls[rows[r]];
            float row = 0.0f, through = 0.0f;
            for (int j = 0; j < C; j++) {
                float margin = sr[j] - sr[y] + 1.0f;
                int active = margin >= 0.0f;
                row += active ? margin : 0.0f;
                dr[j] = active ? g : 0.0f;
                through += dr[j];
            }
            dr[y] -= through;
            total += row - 1.0f;
        }
        return total / (float)B;
    }
    if (loss == LOSS_SQUARE) {
        /* ½ mean over samples and outputs of (tanh s_j − t_j)², t = +1 at the label, −1 elsewhere */
        float norm = 1.0f / ((float)B * (float)C);
        for (int r = 0; r < B; r++) {
            const float *sr = s + r * C;
            float *dr = ds + r * C;
            int64_t y = cls[rows[r]];
            for (int j = 0; j < C; j++) {
                float o = tanhf(sr[j]);
                float d = o - (j == y ? 1.0f : -1.0f);
                total += d * d;
                dr[j] = norm * d * (1.0f - o * o);
            }
        }
        return 0.5f * (total * norm);
    }
    for (int r = 0; r < B; r++) { /* regression: one output */
        float d = s[r] - val[rows[r]];
        float ad = fabsf(d);
        if (loss == LOSS_MSE) {
            total += d * d;
            ds[r] = (0.5f / (float)B) * (2.0f * d);
        } else if (loss == LOSS_MAE) {
            total += ad;
            ds[r] = (1.0f / (float)B) * sgn(d);
        } else { /* huber (HUBER_DELTA is 1: the products by it below are exact) */
            float norm = 1.0f / (float)B;
            total += ad < HUBER_DELTA ? 0.5f * d * d : HUBER_DELTA * (ad - 0.5f * HUBER_DELTA);
            ds[r] = d <= -HUBER_DELTA ? -norm * HUBER_DELTA
                                      : (d >= HUBER_DELTA ? norm * HUBER_DELTA : norm * d);
        }
    }
    return loss == LOSS_MSE ? 0.5f * (total / (float)B) : total / (float)B;
}

/* λΣ|w| or ½λΣw² over the weights (never the biases); adds its gradient into `grad`. */
static float penalty(const mlp_spec *sp, const float *p, float *grad) {
    if (sp->reg == REG_NONE || sp->reg_rate == 0.0) return 0.0f;
    float total = 0.0f;
    float rate = (float)sp->reg_rate, half = (float)(0.5 * sp->reg_rate);
    size_t off = 0;
    for (int l = 0; l < sp->n_layers; l++) {
        size_t nw = (size_t)sp->sizes[l] * sp->sizes[l + 1];
        float part = 0.0f;
        for (size_t k = off; k < off + nw; k++) {
            float w = p[k];
            if (sp->reg == REG_L1) {
                part += fabsf(w);
                grad[k] += rate * sgn(w);
            } else {
                part += w * w;
                grad[k] += half * w + half * w; /* d(w·w): one term per factor, as autograd */
            }
        }
        total += part;
        off += nw + sp->sizes[l + 1];
    }
    return sp->reg == REG_L1 ? rate * total : half * total;
}

/* L1's exact zeros after any optimizer's step (network.l1_zeros): a weight the update carried
   across zero stops at 0; a weight at 0 stays there while λ is at least its gradient (the
   penalty's subgradient at 0 is 0, so `g` is then the data gradient). Biases are left alone. */
static void l1_zeros(const mlp_spec *sp, const float *before, float *p, const float *g) {
    float rate = (float)sp->reg_rate;
    size_t off = 0;
    for (int l = 0; l < sp->n_layers; l++) {
        size_t nw = (size_t)sp->sizes[l] * sp->sizes[l + 1];
        for (size_t k = off; k < off + nw; k++) {
            float b = before[k], a = p[k];
            if ((b > 0.0f && a < 0.0f) || (b < 0.0f && a > 0.0f) ||
                (b == 0.0f && fabsf(g[k]) <= rate))
                p[k] = 0.0f;
        }
        off += nw + sp->sizes[l + 1];
    }
}

/* One torch.optim step on the flat arrays. `step` counts this optimizer's steps (for SGD with
   momentum: the steps since its momentum buffer exists). */
static int update(const mlp_spec *sp, float *p, const float *g, float *s1, float *s2,
                  int64_t *step, size_t n) {
    float neg_lr = (float)(-sp->lr);
    switch (sp->optimizer) {
    case OPT_MOMENTUM:
    case OPT_NESTEROV:
        if (sp->momentum != 0.0) { /* torch skips the buffer entirely at momentum 0 */
            float mom = (float)sp->momentum;
            int nesterov = sp->optimizer == OPT_NESTEROV;
            for (size_t k = 0; k < n; k++) {
                s1[k] = *step == 0 ? g[k] : s1[k] * mom + g[k];
                float d = nesterov ? g[k] + mom * s1[k] : s1[k];
                p[k] = p[k] + neg_lr * d;
            }
            (*step)++;
            return 0;
        }
        /* fall through - momentum 0 is plain SGD */
    case OPT_SGD:
        for (size_t k = 0; k < n; k++) p[k] = p[k] + neg_lr * g[k];
        return 0;
    case OPT_ADAGRAD: {
        float eps = (float)ADAGRAD_EPS;
        for (size_t k = 0; k < n; k++) {
            s1[k] = s1[k] + (1.0f * g[k]) * g[k];
            p[k] = p[k] + (neg_lr * g[k]) / (sqrtf(s1[k]) + eps);
        }
        (*step)++;
        return 0;
    }
    case OPT_ADADELTA: {
        float rho = (float)ADADELTA_RHO, rest = (float)(1.0 - ADADELTA_RHO);
        float eps = (float)ADADELTA_EPS;
        for (size_t k = 0; k < n; k++) {
            s1[k] = s1[k] * rho + (rest * g[k]) * g[k];
            float delta = sqrtf(s2[k] + eps) / sqrtf(s1[k] + eps) * g[k];
            s2[k] = s2[k] * rho + (rest * delta) * delta;
            p[k] = p[k] + neg_lr * delta;
        }
        (*step)++;
        return 0;
    }
    case OPT_RMSPROP: {
        float alpha = (float)RMSPROP_ALPHA, rest = (float)(1.0 - RMSPROP_ALPHA);
        float eps = (float)RMSPROP_EPS;
        for (size_t k = 0; k < n; k++) {
            s1[k] = s1[k] * alpha + (rest * g[k]) * g[k];
            p[k] = p[k] + (neg_lr * g[k]) / (sqrtf(s1[k]) + eps);
        }
        (*step)++;
        return 0;
    }
    case OPT_ADAM: {
        (*step)++;
        double t = (double)*step;
        double step_size = sp->lr / (1.0 - pow(ADAM_BETA1, t));
        float bc2_sqrt = (float)pow(1.0 - pow(ADAM_BETA2, t), 0.5);
        float w1 = (float)(1.0 - ADAM_BETA1), b2 = (float)ADAM_BETA2;
        float rest2 = (float)(1.0 - ADAM_BETA2), eps = (float)ADAM_EPS;
        float neg_step = (float)(-step_size);
        for (size_t k = 0; k < n; k++) {
            s1[k] = s1[k] + w1 * (g[k] - s1[k]); /* lerp toward g, weight 1 − β₁ */
            s2[k] = s2[k] * b2 + (rest2 * g[k]) * g[k];
            float denom = sqrtf(s2[k]) / bc2_sqrt + eps;
            p[k] = p[k] + (neg_step * s1[k]) / denom;
        }
        return 0;
    }
    default: /* an optimizer of the table without its arithmetic here */
        return -1;
    }
}

size_t mlp_param_count(const mlp_spec *sp) {
    size_t n = 0;
    for (int l = 0; l < sp->n_layers; l++) n += (size_t)(sp->sizes[l] + 1) * sp->sizes[l + 1];
    return n;
}

/* The picture's loops are element-wise, so vectorising them changes no result (no sum is
   reordered: that would need -ffast-math); `mlp_grid` is built at -O3 for it, with its helpers
   inlined, and on x86-64 also for AVX2, chosen at load time where the processor has it.
   no-trapping-math lets the clamps of a row run as vector selects; no result changes (nothing
   here reads the floating-point exception flags). */
#if defined(__GNUC__) && !defined(__clang__)
#define PICTURE __attribute__((optimize("O3", "no-trapping-math")))
#else
#define PICTURE
#endif
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define PICTURE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PICTURE_CLONES
#endif

/* The three products of a training step, each sum taken in the very order of the plain loops
   (over k, over r, over o, from 0.0f, the bias or the penalty added after), but with the
   independent sums side by side, so that they run in vector registers: same bits, fewer
   cycles (built as the picture's loops are, above). `wt`: scratch of nin * nout floats. Layers
   smaller than PRODUCT_MIN weights keep the plain loops: there the set-up costs more than it
   saves (the default net's update: 3.5 µs plain, 4.3 side by side; 8 layers of 64: 547 and
   234). */
#define PRODUCT_MIN 256

/* out[r][o] = sum_k in[r][k] w[o][k], + bias[o] */
static PICTURE PICTURE_CLONES void forward_layer(const float *w, const float *bias, const float *in,
                                   float *out, float *wt, int B, int nin, int nout) {
    if (nin * nout < PRODUCT_MIN) {
        for (int r = 0; r < B; r++) {
            const float *x = in + r * nin;
            for (int o = 0; o < nout; o++) {
                const float *wo = w + o * nin;
                float acc = 0.0f;
                for (int k = 0; k < nin; k++) acc += x[k] * wo[k];
                out[r * nout + o] = acc + bias[o];
            }
        }
        return;
    }
    for (int o = 0; o < nout; o++)
        for (int k = 0; k < nin; k++) wt[k * nout + o] = w[o * nin + k];
    for (int r = 0; r < B; r++) {
        const float *x = in + r * nin;
        float *acc = out + r * nout;
        for (int o = 0; o < nout; o++) acc[o] = 0.0f;
        for (int k = 0; k < nin; k++) {
            const float xk = x[k];
            const float *wk = wt + k * nout;
            for (int o = 0; o < nout; o++) acc[o] += xk * wk[o];
        }
        for (int o = 0; o < nout; o++) acc[o] = acc[o] + bias[o];
    }
}

/* gw[o][k] += sum_r d[r][o] a[r][k]; gb[o] += sum_r d[r][o] */
static PICTURE PICTURE_CLONES void weight_grads(const float *d, const float *a, float *gw, float *gb,
                                  float *sums, int B, int nin, int nout) {
    if (nin * nout < PRODUCT_MIN) {
        for (int o = 0; o < nout; o++) {
            float acc_b = 0.0f;
            for (int k = 0; k < nin; k++) {
                float acc = 0.0f;
                for (int r = 0; r < B; r++) acc += d[r * nout + o] * a[r * nin + k];
                gw[o * nin + k] += acc;
            }
            for (int r = 0; r < B; r++) acc_b += d[r * nout + o];
            gb[o] += acc_b;
        }
        return;
    }
    for (int o = 0; o < nout; o++) {
        for (int k = 0; k < nin; k++) sums[k] = 0.0f;
        float acc_b = 0.0f;
        for (int r = 0; r < B; r++) {
            const float dro = d[r * nout + o];
            const float *ar = a + r * nin;
            for (int k = 0; k < nin; k++) sums[k] += dro * ar[k];
            acc_b += dro;
        }
        float *g = gw + o * nin;
        for (int k = 0; k < nin; k++) g[k] += sums[k];
        gb[o] += acc_b;
    }
}

/* d_in[r][k] = sum_o d[r][o] w[o][k] */
static PICTURE PICTURE_CLONES void input_grads(const float *d, const float *w, float *d_in, int B, int nin,
                                 int nout) {
    if (nin * nout < PRODUCT_MIN) {
        for (int r = 0; r < B; r++)
            for (int k = 0; k < nin; k++) {
                float acc = 0.0f;
                for (int o = 0; o < nout; o++) acc += d[r * nout + o] * w[o * nin + k];
                d_in[r * nin + k] = acc;
            }
        return;
    }
    for (int r = 0; r < B; r++) {
        float *acc = d_in + r * nin;
        for (int k = 0; k < nin; k++) acc[k] = 0.0f;
        for (int o = 0; o < nout; o++) {
            const float dro = d[r * nout + o];
            const float *wo = w + o * nin;
            for (int k = 0; k < nin; k++) acc[k] += dro * wo[k];
        }
    }
}

/* Train on `n_batches` minibatches: batch i is rows[starts[i] .. starts[i+1]) of x (and of the
   class labels `cls` or the regression targets `val`). `masks` (or NULL): inverted-dropout
   factors, batch after batch, hidden layer after hidden layer, [B][width] each.
   Stops before an update whose loss is not finite and sets *diverged.
   Returns the number of updates applied, −1 if out of memory, −2 for an unknown optimizer. */
int mlp_train(const mlp_spec *sp, float *params, float *s1, float *s2, int64_t *step,
              const float *x, const int64_t *cls, const float *val, const int64_t *rows,
              const int32_t *starts, int32_t n_batches, const float *masks, int32_t *diverged) {
    const int L = sp->n_layers;
    const int *sz = sp->sizes;
    int max_b = 0, widest = 0, units = 0;
    for (int i = 0; i < n_batches; i++) {
        int b = starts[i + 1] - starts[i];
        max_b = b > max_b ? b : max_b;
    }
    for (int l = 0; l <= L; l++) {
        widest = sz[l] > widest ? sz[l] : widest;
        units += sz[l];
    }
    size_t n_par = mlp_param_count(sp);
    /* a[l]: layer l's input as the next layer sees it (after dropout); z, h: hidden pre- and
       post-activation (before dropout); two gradient rows; one parameter gradient. */
    size_t per_b = (size_t)units * 3 + (size_t)widest * 2;
    int l1 = sp->reg == REG_L1 && sp->reg_rate > 0.0;
    /* and one layer's weights transposed, or its gradient's row sums (`forward_layer`) */
    size_t wt_n = (size_t)widest * widest;
    float *work = malloc(sizeof(float) * ((size_t)max_b * per_b + n_par * (l1 ? 2 : 1) + wt_n));
    if (!work) return -1;
    float *a[MAX_LAYERS + 1], *z[MAX_LAYERS + 1], *h[MAX_LAYERS + 1];
    float *cursor = work;
    for (int l = 0; l <= L; l++) {
        a[l] = cursor; cursor += (size_t)max_b * sz[l];
        z[l] = cursor; cursor += (size_t)max_b * sz[l];
        h[l] = cursor; cursor += (size_t)max_b * sz[l];
    }
    float *d_out = cursor; cursor += (size_t)max_b * widest;
    float *d_in = cursor; cursor += (size_t)max_b * widest;
    float *grad = cursor;
    float *before = grad + n_par; /* weights before the step, only with L1 */
    float *wt = before + (l1 ? n_par : 0);

    *diverged = 0;
    const float *mask = masks;
    int done = 0;
    for (int i = 0; i < n_batches; i++) {
        const int64_t *idx = rows + starts[i];
        const int B = starts[i + 1] - starts[i];
        for (int r = 0; r < B; r++) memcpy(a[0] + r * sz[0], x + idx[r] * sz[0], sz[0] * 4);

        /* forward */
        const float *w = params;
        for (int l = 0; l < L; l++) {
            const int nin = sz[l], nout = sz[l + 1];
            const float *bias = w + nin * nout;
            float *out = l == L - 1 ? a[L] : z[l + 1];
            forward_layer(w, bias, a[l], out, wt, B, nin, nout);
            if (l < L - 1) {
                int act = sp->acts[l];
                for (int k = 0; k < B * nout; k++) {
                    float hv = activate(act, out[k]);
                    h[l + 1][k] = hv;
                    a[l + 1][k] = mask ? hv * mask[k] : hv;
                }
                if (mask) mask += B * nout;
            }
            w = bias + nout;
        }

        /* loss; the parameter gradient starts as the penalty's */
        memset(grad, 0, sizeof(float) * n_par);
        float loss = loss_and_grad(sp->loss, a[L], B, sz[L], cls, val, idx, d_out);
        loss = loss + penalty(sp, params, grad);
        if (!isfinite(loss)) {
            *diverged = 1;
            break;
        }

        /* backward, from the output layer down; d_out holds d loss / d z of layer l+1 */
        size_t off = n_par;
        for (int l = L - 1; l >= 0; l--) {
            const int nin = sz[l], nout = sz[l + 1];
            off -= (size_t)(nin + 1) * nout;
            const float *wl = params + off;
            float *gw = grad + off, *gb = gw + nin * nout;
            weight_grads(d_out, a[l], gw, gb, wt, B, nin, nout);
            if (l == 0) break;
            const float *mask_l = NULL;
            if (masks) { /* this layer's masks sit just before the later layers' in the stream */
                size_t after = 0;
                for (int m = l + 1; m < L; m++) after += (size_t)B * sz[m];
                mask_l = mask - after - (size_t)B * nin;
            }
            int act = sp->acts[l - 1];
            input_grads(d_out, wl, d_in, B, nin, nout);
            for (int q = 0; q < B * nin; q++) {
                float acc = d_in[q];
                if (mask_l) acc = acc * mask_l[q];
                d_in[q] = acc * activate_grad(act, z[l][q], h[l][q]);
            }
            float *swap = d_out; d_out = d_in; d_in = swap;
        }

        if (l1) memcpy(before, params, sizeof(float) * n_par);
        if (update(sp, params, grad, s1, s2, step, n_par) < 0) {
            done = -2;
            break;
        }
        if (l1) l1_zeros(sp, before, params, grad);
        done++;
    }
    free(work);
    return done;
}


/* tanh as a rational function of z: no library call, so the compiler can run a row of them in
   vector registers. Within 1e-6 of tanhf on every float (tests/test_fastpath.py checks it); for
   pictures only: training uses tanhf. */
static inline __attribute__((always_inline)) float picture_tanh(float z) {
    const float clamp = 7.90531110763549805f; /* beyond it tanh is 1 in float */
    float x = z < -clamp ? -clamp : z; /* a NaN stays NaN through both */
    x = x > clamp ? clamp : x;
    float x2 = x * x;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 - 8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return x * p / q;
}

static inline __attribute__((always_inline)) void activate_row(int act, float *v, int n) {
    switch (act) {
    case ACT_TANH:
        for (int k = 0; k < n; k++) v[k] = picture_tanh(v[k]);
        return;
    case ACT_RELU:
        for (int k = 0; k < n; k++) v[k] = v[k] > 0.0f ? v[k] : 0.0f;
        return;
    case ACT_SIGMOID: /* σ(z) = ½ tanh(z/2) + ½ */
        for (int k = 0; k < n; k++) v[k] = 0.5f * picture_tanh(0.5f * v[k]) + 0.5f;
        return;
    case ACT_LEAKYRELU:
        for (int k = 0; k < n; k++) v[k] = v[k] > 0.0f ? v[k] : v[k] * LEAKY_RELU_SLOPE;
        return;
    case ACT_GELU:
        for (int k = 0; k < n; k++) {
            float z = v[k];
            v[k] = 0.5f * z * (1.0f + picture_tanh(GELU_BETA * (z + GELU_KAPPA * (z * z * z))));
        }
        return;
    default:
        for (int k = 0; k < n; k++) v[k] = activate(act, v[k]);
    }
}

/* What a frame draws, on a G×G grid of points (row-major, top row first) whose network inputs
   are the columns of x [F][G·G]:
   - out: kind 0 (two classes) 2σ(s₁ − s₀) − 1 per point [G·G]; kind 1 (regression) the output
     clamped to [−1, 1] [G·G]; kind 2 (more classes) every score [C][G·G];
   - maps [H][M][M]: every hidden neuron's value averaged over the cells of an M×M map, as
     torch's adaptive average pooling does (cell i spans rows ⌊iG/M⌋ .. ⌈(i+1)G/M⌉ − 1).
   One grid row at a time, so a row's layers stay in cache whatever the grid. Not-a-number
   values pass through (the caller draws them as 0). Returns 0, or −1 if out of memory. */
PICTURE PICTURE_CLONES int mlp_grid(const mlp_spec *sp, const float *params, const float *x,
                                    int32_t G, int32_t M, int32_t kind, float *out, float *maps) {
    const int L = sp->n_layers;
    const int *sz = sp->sizes;
    const size_t P = (size_t)G * G;
    int widest = 0, hidden = 0;
    for (int l = 0; l <= L; l++) widest = sz[l] > widest ? sz[l] : widest;
    for (int l = 1; l < L; l++) hidden += sz[l];
    /* two layer buffers [width][G], a row of window sums per neuron [H][M] */
    float *work = malloc(sizeof(float) * ((size_t)widest * G * 2 + (size_t)hidden * M + 1));
    if (!work) return -1;
    float *cur = work, *nxt = work + (size_t)widest * G, *rowsum = nxt + (size_t)widest * G;
    memset(maps, 0, sizeof(float) * (size_t)hidden * M * M);
    for (int r = 0; r < G; r++) {
        for (int f = 0; f < sz[0]; f++) memcpy(cur + (size_t)f * G, x + f * P + (size_t)r * G, 4 * G);
        const float *w = params;
        int unit = 0; /* first hidden neuron of this layer, over all layers */
        for (int l = 0; l < L; l++) {
            const int nin = sz[l], nout = sz[l + 1];
            const float *bias = w + nin * nout;
            for (int o = 0; o < nout; o++) {
                float *dst = nxt + (size_t)o * G;
                const float *wo = w + o * nin;
                for (int c = 0; c < G; c++) dst[c] = 0.0f;
                for (int k = 0; k < nin; k++) {
                    const float wk = wo[k], *src = cur + (size_t)k * G;
                    for (int c = 0; c < G; c++) dst[c] += wk * src[c];
                }
                for (int c = 0; c < G; c++) dst[c] += bias[o];
                if (l < L - 1) {
                    activate_row(sp->acts[l], dst, G);
                    /* this row's sums over each column window, into every map row it lies in */
                    float *sums = rowsum + (size_t)(unit + o) * M;
                    for (int j = 0; j < M; j++) {
                        int c0 = j * G / M, c1 = ((j + 1) * G + M - 1) / M;
                        float s = 0.0f;
                        for (int c = c0; c < c1; c++) s += dst[c];
                        sums[j] = s;
                    }
                    float *map = maps + (size_t)(unit + o) * M * M;
                    for (int i = r * M / G; i < M && i * G / M <= r; i++) {
                        if (r >= ((i + 1) * G + M - 1) / M) continue;
                        for (int j = 0; j < M; j++) map[i * M + j] += sums[j];
                    }
                }
            }
            if (l < L - 1) unit += nout;
            float *swap = cur; cur = nxt; nxt = swap;
            w = bias + nout;
        }
        /* cur holds the scores [C][G] of this row */
        const int C = sz[L];
        if (kind == 0) {
            for (int c = 0; c < G; c++) {
                float d = cur[(size_t)G + c] - cur[c];
                out[(size_t)r * G + c] = picture_tanh(0.5f * d); /* 2σ(d) − 1 = tanh(d/2) */
            }
        } else if (kind == 1) {
            for (int c = 0; c < G; c++) {
                float v = cur[c];
                out[(size_t)r * G + c] = v > 1.0f ? 1.0f : (v < -1.0f ? -1.0f : v);
            }
        } else {
            for (int j = 0; j < C; j++) memcpy(out + j * P + (size_t)r * G, cur + (size_t)j * G, 4 * G);
        }
    }
    for (int u = 0; u < hidden; u++) { /* sums to means */
        float *map = maps + (size_t)u * M * M;
        for (int i = 0; i < M; i++) {
            int rows = ((i + 1) * G + M - 1) / M - i * G / M;
            for (int j = 0; j < M; j++) {
                int cols = ((j + 1) * G + M - 1) / M - j * G / M;
                map[i * M + j] /= (float)(rows * cols);
            }
        }
    }
    free(work);
    return 0;
}

/* 127·clamp(v, −1, 1) rounded half to even, NaN as 0: a picture's values as the frame sends
   them, equal value for value to playground_models/quantize.py's `to_int8` (checked on 4
   million values: random bit patterns, every tie and its neighbours, ±0, ±inf, NaN). Adding
   and taking away 1.5·2²³ rounds a float of magnitude below 2²² to the nearest integer, ties
   to even, as `np.rint` does. Built as the picture is (PICTURE), every step is a select or
   plain arithmetic, so the loop runs in vector registers. */
PICTURE static inline __attribute__((always_inline)) void quantize_unit(const float *v, size_t n,
                                                                        int8_t *q) {
    const float round = 12582912.0f;
    for (size_t i = 0; i < n; i++) {
        float s = v[i] * 127.0f;
        s = s == s ? s : 0.0f; /* NaN */
        s = s < -127.0f ? -127.0f : s;
        s = s > 127.0f ? 127.0f : s;
        s = (s + round) - round;
        q[i] = (int8_t)(int32_t)s;
    }
}

/* `mlp_grid`'s picture as a frame sends it: the output [G·G] (kinds 0 and 1) and the neuron
   maps [H][M][M], each quantised by `quantize_unit`. Returns 0, −1 if out of memory, −2 for a
   kind it does not draw (2: the classes come from the scores in the caller). */
PICTURE PICTURE_CLONES int mlp_picture(const mlp_spec *sp, const float *params, const float *x,
                                       int32_t G, int32_t M, int32_t kind, int8_t *out,
                                       int8_t *maps) {
    if (kind != 0 && kind != 1) return -2;
    int hidden = 0;
    for (int l = 1; l < sp->n_layers; l++) hidden += sp->sizes[l];
    const size_t P = (size_t)G * G, H = (size_t)hidden * M * M;
    float *values = malloc(sizeof(float) * (P + H + 1));
    if (!values) return -1;
    int status = mlp_grid(sp, params, x, G, M, kind, values, values + P);
    if (status == 0) {
        quantize_unit(values, P, out);
        quantize_unit(values + P, H, maps);
    }
    free(values);
    return status;
}

/* A frame's metrics: the mean data loss of the net on all n rows of x (their class labels `cls`
   or targets `val`), and with labels the share it gets right (the first highest score wins, as
   torch's argmax). Rows go in chunks through the training's own forward pass and loss, so the
   loss is the one training minimises, summed chunk by chunk in double. Returns 0, or −1 if out
   of memory. */
#define EVAL_CHUNK 64 /* rows at a time: its buffers stay below malloc's mmap threshold */
int mlp_evaluate(const mlp_spec *sp, const float *params, const float *x, const int64_t *cls,
                 const float *val, int32_t n, double *loss_out, double *acc_out) {
    const int L = sp->n_layers;
    const int *sz = sp->sizes;
    int widest = 0;
    for (int l = 0; l <= L; l++) widest = sz[l] > widest ? sz[l] : widest;
    float *work = malloc(sizeof(float) * ((size_t)EVAL_CHUNK * widest * 3 + (size_t)widest * widest));
    int64_t *rows = malloc(sizeof(int64_t) * EVAL_CHUNK);
    if (!work || !rows) {
        free(work);
        free(rows);
        return -1;
    }
    float *cur = work, *nxt = work + (size_t)EVAL_CHUNK * widest, *ds = nxt + (size_t)EVAL_CHUNK * widest;
    float *wt = ds + (size_t)EVAL_CHUNK * widest;
    double total = 0.0;
    int64_t right = 0;
    for (int start = 0; start < n; start += EVAL_CHUNK) {
        const int B = n - start < EVAL_CHUNK ? n - start : EVAL_CHUNK;
        memcpy(cur, x + (size_t)start * sz[0], sizeof(float) * (size_t)B * sz[0]);
        const float *w = params;
        for (int l = 0; l < L; l++) {
            const int nin = sz[l], nout = sz[l + 1];
            const float *bias = w + nin * nout;
            forward_layer(w, bias, cur, nxt, wt, B, nin, nout);
            if (l < L - 1)
                for (int q = 0; q < B * nout; q++) nxt[q] = activate(sp->acts[l], nxt[q]);
            float *swap = cur; cur = nxt; nxt = swap;
            w = bias + nout;
        }
        for (int r = 0; r < B; r++) rows[r] = start + r;
        /* the softmax loss skips its gradient when given none; the others write it to ds */
        float *grad = sp->loss == LOSS_SOFTMAX ? NULL : ds;
        total += (double)loss_and_grad(sp->loss, cur, B, sz[L], cls, val, rows, grad) * B;
        if (cls) {
            const int C = sz[L];
            for (int r = 0; r < B; r++) {
                int best = 0;
                for (int j = 1; j < C; j++) best = cur[r * C + j] > cur[r * C + best] ? j : best;
                right += best == cls[start + r];
            }
        }
    }
    *loss_out = n ? total / n : 0.0;
    *acc_out = n ? (double)right / n : 0.0;
    free(work);
    free(rows);
    return 0;
}
