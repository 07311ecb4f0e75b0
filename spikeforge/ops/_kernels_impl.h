/* The CPU kernels of _kernels.c for one precision: included once with R = float, F(x) = x##_f32 and
 * once with R = double, F(x) = x##_f64. Every operation is written in R, in the order of the step
 * functions in spikeforge.core (see _kernels.c), so that results are bit-identical to them. */

/* ---------------------------------------------------------------- surrogate gradients */

/* dS/dz of surrogate `sid` (a Surrogate.kernel_id, -1 none) in R; the ids are those of
 * spikeforge/ops/_surrogate_ids.py and the formulas those of spikeforge/surrogate.py. */
INLINE R F(surrogate_grad)(R z, const int sid, R a, R b) {
    switch (sid) {
    case 0: { /* ATan(alpha) */
        R w = (R)(3.14159265358979323846 / 2) * a * z;
        return (a / (R)2) / ((R)1 + w * w);
    }
    case 1: { /* FastSigmoid(slope) */
        R d = a * ABS(z) + (R)1;
        return (R)1 / (d * d);
    }
    case 2: { /* Sigmoid(slope): a*e/(1+e)^2, e = exp(-|a z|) (never overflows) */
        R e = EXP(-ABS(a * z));
        R d = (R)1 + e;
        return a * e / (d * d);
    }
    case 3: /* Triangular(threshold) */
        return z < 0 ? a : -a;
    case 4: /* StraightThroughEstimator */
        return (R)1;
    case 5: /* SpikeRateEscape(beta, slope) */
        return b * EXP(-a * ABS(z - (R)1));
    case 6: /* Heaviside */
        return z > 0 ? (R)1 : (R)0;
    case 7: { /* SparseFastSigmoid(slope, B) */
        R d = a * ABS(z) + (R)1;
        return z > b ? (R)1 / (d * d) : (R)0;
    }
    case 8: /* LeakySpikeOperator(slope) */
        return z > 0 ? (R)1 : a;
    default:
        return (R)0;
    }
}

/* out[k - lo] = g[k - pb] * s'(v[k] - theta[k - pb]) (g NULL: factor 1) for k in [lo, hi): one loop
 * per surrogate, each with a constant id (no branch on it inside the loop). With per == 0, theta and g
 * are one value each (theta[0], g[0]). */
INLINE void F(slope_loop)(const R *restrict v, const R *restrict theta, const R *restrict g,
                          R *restrict out, int64_t lo, int64_t hi, int64_t pb, const int per, const int sid,
                          R a, R b) {
    const R th0 = theta[0];
    if (g) {
        const R g0 = g[0];
        for (int64_t k = lo; k < hi; k++)
            out[k - lo] = (per ? g[k - pb] : g0) *
                          F(surrogate_grad)(v[k] - (per ? theta[k - pb] : th0), sid, a, b);
    } else {
        for (int64_t k = lo; k < hi; k++)
            out[k - lo] = F(surrogate_grad)(v[k] - (per ? theta[k - pb] : th0), sid, a, b);
    }
}

#define SLOPE_SID(P) \
    do { switch (sid) { \
        case 0: F(slope_loop)(v, theta, g, out, lo, hi, pb, P, 0, a, b); break; \
        case 1: F(slope_loop)(v, theta, g, out, lo, hi, pb, P, 1, a, b); break; \
        case 2: F(slope_loop)(v, theta, g, out, lo, hi, pb, P, 2, a, b); break; \
        case 3: F(slope_loop)(v, theta, g, out, lo, hi, pb, P, 3, a, b); break; \
        case 4: F(slope_loop)(v, theta, g, out, lo, hi, pb, P, 4, a, b); break; \
        case 5: F(slope_loop)(v, theta, g, out, lo, hi, pb, P, 5, a, b); break; \
        case 6: F(slope_loop)(v, theta, g, out, lo, hi, pb, P, 6, a, b); break; \
        case 7: F(slope_loop)(v, theta, g, out, lo, hi, pb, P, 7, a, b); break; \
        case 8: F(slope_loop)(v, theta, g, out, lo, hi, pb, P, 8, a, b); break; \
        default: F(slope_loop)(v, theta, g, out, lo, hi, pb, P, -1, a, b); break; } } while (0)

static CLONES void F(slope_row)(const R *v, const R *theta, const R *g, R *out, int64_t lo,
                                int64_t hi, int64_t pb, int per, int sid, double p1, double p2) {
    R a = (R)p1, b = (R)p2;
    if (per) SLOPE_SID(1);
    else SLOPE_SID(0);
}

/* ---------------------------------------------------------------- LIF family: forward */

/* one step of neurons [lo, hi), its arrays as restrict parameters (gcc honours restrict on parameters,
 * also once inlined, and vectorises without run-time overlap checks); with per, neuron k reads the
 * parameters' element k - pb (pb: the start of the period [pb, pb + P) that holds [lo, hi)) */
INLINE void F(fwd_row)(int64_t lo, int64_t hi, const R *restrict x_t, R *restrict s_t, R *restrict u_t,
                       R *restrict i_t, R *restrict v_t, R *restrict u_prev, R *restrict i_prev,
                       R *restrict s_prev, const R *restrict alpha, const R *restrict beta,
                       const R *restrict theta, const R *restrict g, const R *restrict vrec,
                       const int64_t pb, const int per, const int syn, const int rec, const int reset,
                       const int imm) {
    const R a0 = alpha[0], b0 = beta[0], th0 = theta[0], g0 = g[0], v0 = vrec[0];
    for (int64_t k = lo; k < hi; k++) {
        /* every load unconditional (a load under a data-dependent condition stops vectorisation) */
        R up = u_prev[k];
        R th = per ? theta[k - pb] : th0;
        R bk = per ? beta[k - pb] : b0;
        R gk = per ? g[k - pb] : g0;
        R ak = (per && syn) ? alpha[k - pb] : a0;
        R vk = (per && rec) ? vrec[k - pb] : v0;
        R ip = syn ? i_prev[k] : (R)0;
        R sp = rec ? s_prev[k] : (R)0;
        int fired = up > th;
        R xv = x_t[k];
        R base, vv, un;
        R plain = bk * up + xv;
        if (syn) {
            R ic = ak * ip + xv;
            if (rec) ic = ic + sp * vk;
            i_t[k] = ic;
            i_prev[k] = ic;
            base = bk * up + ic;
        } else {
            if (rec) plain = plain + sp * vk;
            base = (reset == 1 && fired) ? xv : plain; /* Leaky's zero reset keeps only the input */
        }
        if (reset == 0 && fired) vv = base - th;
        else if (reset == 3 && fired) vv = base - base;
        else vv = base;
        int hit = vv - th > 0;
        R sv = hit ? gk : (R)0;
        s_t[k] = sv;
        if (rec) s_prev[k] = sv;
        if (imm) v_t[k] = vv;
        if (imm && reset != 2 && hit != fired) {
            if (reset == 0) un = hit ? vv - th : vv + th;
            else un = hit ? vv - vv : vv + vv;
        } else {
            un = vv;
        }
        u_t[k] = un;
        u_prev[k] = un;
    }
}

/* Steps of neurons [lo, hi): with per, each step in segments that stay within one period of the
 * parameters (one segment when P == N). */
INLINE void F(fwd_block_impl)(const lif_fwd_args *A, int64_t lo, int64_t hi, const int per,
                              const int syn, const int rec, const int reset, const int imm) {
    const int64_t T = A->T, N = A->N, P = A->P > 0 ? A->P : N;
    for (int64_t t = 0; t < T; t++)
        for (int64_t s0 = lo, s1, pb; s0 < hi; s0 = s1) {
            s1 = seg_end(s0, hi, P, per, &pb);
            F(fwd_row)(s0, s1, (const R *)A->x + t * N, (R *)A->spk + t * N,
                       (R *)A->u + (A->keep ? t : 0) * N, (R *)A->itr + ((syn && A->keep) ? t : 0) * N,
                       (R *)A->v + ((imm && A->keep) ? t : 0) * N, A->u_prev, A->i_prev, A->s_prev, A->alpha,
                       A->beta, A->theta, A->g, A->vrec, pb, per, syn, rec, reset, imm);
        }
}

/* the configuration as compile-time constants: one specialised loop each (64 of them) */
#define FWD_IM(P, S, RC, RS) \
    do { if (A->immediate) F(fwd_block_impl)(A, lo, hi, P, S, RC, RS, 1); \
         else F(fwd_block_impl)(A, lo, hi, P, S, RC, RS, 0); } while (0)
#define FWD_RS(P, S, RC) \
    do { switch (A->reset) { case 0: FWD_IM(P, S, RC, 0); break; case 1: FWD_IM(P, S, RC, 1); break; \
         case 2: FWD_IM(P, S, RC, 2); break; default: FWD_IM(P, S, RC, 3); break; } } while (0)
#define FWD_RC(P, S) do { if (A->rec) FWD_RS(P, S, 1); else FWD_RS(P, S, 0); } while (0)
#define FWD_S(P) do { if (A->syn) FWD_RC(P, 1); else FWD_RC(P, 0); } while (0)

static CLONES int F(fwd_block)(const void *args, int64_t c) {
    const lif_fwd_args *A = args;
    int64_t lo = c * A->N / A->nb, hi = (c + 1) * A->N / A->nb;
    if (A->per) FWD_S(1);
    else FWD_S(0);
    return 0;
}

EXPORT int F(sf_lif_forward)(const lif_fwd_args *A) {
    return run_blocks(F(fwd_block), A, A->nb);
}

/* ---------------------------------------------------------------- LIF family: backward */

INLINE void F(bwd_row)(int64_t lo, int64_t hi, const R *restrict u_prev, const R *restrict i_prev,
                       const R *restrict s_prev, const R *restrict v_t, const R *restrict gu_t,
                       const R *restrict gi_t, const R *restrict gs_t, R *restrict gx_t,
                       const R *restrict slope /* [hi - lo] */, const R *restrict alpha, const R *restrict beta,
                       const R *restrict theta, const R *restrict g, const R *restrict vrec,
                       R *restrict gu0, R *restrict gi0, R *restrict gs0, R *restrict galpha,
                       R *restrict gbeta, R *restrict gtheta, R *restrict gg, R *restrict gvrec,
                       const int64_t po, const int64_t pb, const int per, const int syn, const int rec,
                       const int reset, const int imm, const int params) {
    const R zero = 0, one = 1;
    const R a0 = alpha[0], b0 = beta[0], th0 = theta[0], g0 = g[0], v0 = vrec[0];
    for (int64_t k = lo; k < hi; k++) {
        R th = per ? theta[k - pb] : th0;
        R gk = per ? g[k - pb] : g0;
        R up = u_prev[k];
        int fired = up > th;
        R vv = v_t[k];
        R z = vv - th;
        int hit = z > 0;
        R gut = gu0[k] + gu_t[k];
        R gst = rec ? gs_t[k] + gs0[k] : gs_t[k];
        R dth = zero, dg = zero, gv = gut;
        if (imm && reset != 2) {
            R dd = (hit ? one : zero) - (fired ? one : zero);
            R q = gut * (reset == 0 ? th : vv) / gk;
            gst -= q;
            dg += hit ? q : zero;
            if (reset == 0) dth -= gut * dd;
            else gv = gut * (one - dd);
        }
        dg += hit ? gst : zero;
        R gz = gst * gk * slope[k - lo];
        gv += gz;
        dth -= gz;
        if (reset == 0) dth -= fired ? gv : zero;
        R gbase = (reset == 3 && fired) ? zero : gv;
        R gprev = (reset == 1 && fired) ? zero : gbase;
        gu0[k] = (per ? beta[k - pb] : b0) * gprev;
        if (params) {
            gbeta[k - po] += gprev * up;
            gtheta[k - po] += dth;
            if (params == 2) gg[k - po] += dg;
        }
        R gdrive;
        if (syn) {
            gdrive = gi0[k] + gi_t[k] + gbase;
            if (params) galpha[k - po] += gdrive * i_prev[k];
            gi0[k] = (per ? alpha[k - pb] : a0) * gdrive;
        } else {
            gdrive = gbase;
        }
        gx_t[k] = gdrive;
        if (rec) {
            if (params) gvrec[k - po] += gdrive * s_prev[k];
            gs0[k] = (per ? vrec[k - pb] : v0) * gdrive;
        }
    }
}

/* The sum of lanes[0:m] in double (four partial sums, so that the additions overlap), the lanes zeroed. */
INLINE double F(drain)(R *restrict lanes, int64_t m) {
    double s[4] = {0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 4 <= m; j += 4)
        for (int q = 0; q < 4; q++) {
            s[q] += (double)lanes[j + q];
            lanes[j + q] = 0;
        }
    for (; j < m; j++) {
        s[0] += (double)lanes[j];
        lanes[j] = 0;
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* Neurons [lo, hi) of the BPTT (block c), by the time loop (backwards) over chunks of CHUNK neurons: a
 * chunk's surrogate slopes go to an L1-sized scratch row, then its gradients are computed; rows are read
 * whole (a stream the prefetchers follow). Parameter gradients:
 * - per neuron (per): each neuron's sum over time, [N] (the parameters themselves are [P], read as in
 *   the forward: chunks end at period ends). These [N] sums would go through the caches at every
 *   step, so the neurons are first split in tiles of TILE, all T steps of one tile before the next.
 *   Neurons are independent and each one's operations keep their order: the results do not depend on
 *   the split.
 * - one value each (!per): the sum over the block's neurons and steps, into element c of each gradient
 *   array (the caller adds the blocks' sums). Each step accumulates its chunks into CHUNK lanes on the
 *   stack (`lanes`, L1), drained into a double sum after the step: no tiling and no [N] array, at the
 *   price of a summation order that depends on the split into blocks (to rounding, as torch's sums). */
INLINE void F(bwd_block_impl)(const lif_bwd_args *A, int64_t c, int64_t lo, int64_t hi, R *restrict slope,
                              R *restrict lanes, const int per, const int syn, const int rec, const int reset,
                              const int imm, const int params) {
    const int64_t T = A->T, N = A->N, tile = (params && per) ? TILE : hi - lo, P = A->P > 0 ? A->P : N;
    const int64_t m = hi - lo < CHUNK ? hi - lo : CHUNK; /* lanes in use (!per) */
    R *gbeta = A->gbeta, *gtheta = A->gtheta, *gg = A->gg, *galpha = A->galpha, *gvrec = A->gvrec;
    double sum[5] = {0, 0, 0, 0, 0}; /* beta, theta, g, alpha, vrec (!per) */
    if (params && per) {
        for (int64_t k = lo; k < hi; k++) {
            gbeta[k] = 0;
            gtheta[k] = 0;
            if (params == 2) gg[k] = 0;
            if (syn) galpha[k] = 0;
            if (rec) gvrec[k] = 0;
        }
    } else if (params) {
        for (int64_t j = 0; j < 5 * CHUNK; j++) lanes[j] = 0;
    }
    for (int64_t k0 = lo; k0 < hi; k0 += tile) {
        int64_t k1 = k0 + tile < hi ? k0 + tile : hi;
        for (int64_t t = T - 1; t >= 0; t--) {
            const R *u_prev = t == 0 ? (const R *)A->u0 : (const R *)A->u + (t - 1) * N;
            const R *i_prev = (t == 0 || !syn) ? (const R *)A->i0 : (const R *)A->itr + (t - 1) * N;
            const R *s_prev = (t == 0 || !rec) ? (const R *)A->s0 : (const R *)A->spk + (t - 1) * N;
            const R *v_t = imm ? (const R *)A->v + t * N : (const R *)A->u + t * N;
            for (int64_t c0 = k0, c1, pb; c0 < k1; c0 = c1) { /* with per, chunks end at period ends */
                c1 = seg_end(c0, c0 + CHUNK < k1 ? c0 + CHUNK : k1, P, per, &pb);
                F(slope_row)(v_t, A->theta, NULL, slope, c0, c1, pb, per, A->sid, A->p1, A->p2);
                if (per || !params)
                    F(bwd_row)(c0, c1, u_prev, i_prev, s_prev, v_t, (const R *)A->gu + t * A->gu_stride,
                               (const R *)A->gi + t * A->gi_stride, (const R *)A->gs + t * A->gs_stride,
                               (R *)A->gx + t * N, slope, A->alpha, A->beta, A->theta, A->g, A->vrec, A->gu0,
                               A->gi0, A->gs0, galpha, gbeta, gtheta, gg, gvrec, 0, pb, per, syn, rec,
                               reset, imm, params);
                else
                    F(bwd_row)(c0, c1, u_prev, i_prev, s_prev, v_t, (const R *)A->gu + t * A->gu_stride,
                               (const R *)A->gi + t * A->gi_stride, (const R *)A->gs + t * A->gs_stride,
                               (R *)A->gx + t * N, slope, A->alpha, A->beta, A->theta, A->g, A->vrec, A->gu0,
                               A->gi0, A->gs0, lanes + 3 * CHUNK, lanes, lanes + CHUNK, lanes + 2 * CHUNK,
                               lanes + 4 * CHUNK, c0, pb, per, syn, rec, reset, imm, params);
            }
            if (params && !per)
                for (int q = 0; q < 5; q++)
                    if (q < 2 || (q == 2 && params == 2) || (q == 3 && syn) || (q == 4 && rec))
                        sum[q] += F(drain)(lanes + q * CHUNK, m);
        }
    }
    if (params && !per) {
        gbeta[c] = (R)sum[0];
        gtheta[c] = (R)sum[1];
        if (params == 2) gg[c] = (R)sum[2];
        if (syn) galpha[c] = (R)sum[3];
        if (rec) gvrec[c] = (R)sum[4];
    }
}

#define BWD_P(PER, S, RC, RS, IM) \
    do { switch (A->params) { \
         case 0: F(bwd_block_impl)(A, c, lo, hi, slope, lanes, PER, S, RC, RS, IM, 0); break; \
         case 1: F(bwd_block_impl)(A, c, lo, hi, slope, lanes, PER, S, RC, RS, IM, 1); break; \
         default: F(bwd_block_impl)(A, c, lo, hi, slope, lanes, PER, S, RC, RS, IM, 2); break; } } while (0)
#define BWD_IM(PER, S, RC, RS) \
    do { if (A->immediate) BWD_P(PER, S, RC, RS, 1); else BWD_P(PER, S, RC, RS, 0); } while (0)
#define BWD_RS(PER, S, RC) \
    do { switch (A->reset) { case 0: BWD_IM(PER, S, RC, 0); break; case 1: BWD_IM(PER, S, RC, 1); break; \
         case 2: BWD_IM(PER, S, RC, 2); break; default: BWD_IM(PER, S, RC, 3); break; } } while (0)
#define BWD_RC(PER, S) do { if (A->rec) BWD_RS(PER, S, 1); else BWD_RS(PER, S, 0); } while (0)
#define BWD_S(PER) do { if (A->syn) BWD_RC(PER, 1); else BWD_RC(PER, 0); } while (0)

/* One block of neurons; parameters given as one value each (A->per == 0) are read as such, and their
 * gradients are the block's sums, in element c (see bwd_block_impl). */
static CLONES int F(bwd_block)(const void *args, int64_t c) {
    const lif_bwd_args *A = args;
    int64_t lo = c * A->N / A->nb, hi = (c + 1) * A->N / A->nb;
    R slope[CHUNK], lanes[5 * CHUNK]; /* lanes: with parameter gradients of one value each */
    if (A->per) BWD_S(1);
    else BWD_S(0);
    return 0;
}

EXPORT int F(sf_lif_backward)(const lif_bwd_args *A) {
    return run_blocks(F(bwd_block), A, A->nb);
}

/* ---------------------------------------------------------------- alpha neuron */

/* One step of neurons [lo, hi) (ops/alpha/cpu.py: the numba kernel's operations, in its order). */
INLINE void F(alpha_fwd_row)(int64_t lo, int64_t hi, const R *restrict x_t, R *restrict s_t, R *restrict e_t,
                             R *restrict n_t, R *restrict u_t, R *restrict e_prev, R *restrict n_prev,
                             R *restrict u_prev, const R *restrict alpha, const R *restrict beta,
                             const R *restrict tau, const R *restrict theta, const R *restrict g,
                             const int64_t pb, const int per, const int reset) {
    const R a0 = alpha[0], b0 = beta[0], tau0 = tau[0], th0 = theta[0], g0 = g[0];
    for (int64_t k = lo; k < hi; k++) {
        R ep = e_prev[k], np_ = n_prev[k], up = u_prev[k], xv = x_t[k];
        R th = per ? theta[k - pb] : th0;
        R e1 = (per ? alpha[k - pb] : a0) * ep + xv;
        R n1 = (per ? beta[k - pb] : b0) * np_ - xv;
        R m1 = (per ? tau[k - pb] : tau0) * (e1 + n1);
        int fired = up > th;
        if (reset == 0) {
            e1 = fired ? e1 - th : e1;
            m1 = fired ? m1 + np_ : m1;
            n1 = fired ? n1 - n1 : n1;
        } else if (reset == 1) {
            e1 = fired ? e1 - e1 : e1;
            n1 = fired ? n1 - n1 : n1;
            m1 = fired ? m1 - m1 : m1;
        }
        e_t[k] = e1;
        n_t[k] = n1;
        u_t[k] = m1;
        e_prev[k] = e1;
        n_prev[k] = n1;
        u_prev[k] = m1;
        s_t[k] = m1 - th > 0 ? (per ? g[k - pb] : g0) : (R)0;
    }
}

/* Steps of neurons [lo, hi), in segments within one period of the parameters (as the LIF forward). */
INLINE void F(alpha_fwd_impl)(const alpha_fwd_args *A, int64_t lo, int64_t hi, const int per,
                              const int reset) {
    const int64_t T = A->T, N = A->N, P = A->P > 0 ? A->P : N;
    for (int64_t t = 0; t < T; t++) {
        int64_t r = A->keep ? t * N : 0;
        for (int64_t s0 = lo, s1, pb; s0 < hi; s0 = s1) {
            s1 = seg_end(s0, hi, P, per, &pb);
            F(alpha_fwd_row)(s0, s1, (const R *)A->x + t * N, (R *)A->spk + t * N, (R *)A->e + r,
                             (R *)A->n + r, (R *)A->u + r, A->e_prev, A->n_prev, A->u_prev, A->alpha, A->beta,
                             A->tau, A->theta, A->g, pb, per, reset);
        }
    }
}

static CLONES int F(alpha_fwd_block)(const void *args, int64_t c) {
    const alpha_fwd_args *A = args;
    int64_t lo = c * A->N / A->nb, hi = (c + 1) * A->N / A->nb;
    const int per = A->per;
    switch (A->reset) {
    case 0: if (per) F(alpha_fwd_impl)(A, lo, hi, 1, 0); else F(alpha_fwd_impl)(A, lo, hi, 0, 0); break;
    case 1: if (per) F(alpha_fwd_impl)(A, lo, hi, 1, 1); else F(alpha_fwd_impl)(A, lo, hi, 0, 1); break;
    default: if (per) F(alpha_fwd_impl)(A, lo, hi, 1, 2); else F(alpha_fwd_impl)(A, lo, hi, 0, 2); break;
    }
    return 0;
}

EXPORT int F(sf_alpha_forward)(const alpha_fwd_args *A) {
    return run_blocks(F(alpha_fwd_block), A, A->nb);
}

INLINE void F(alpha_bwd_row)(int64_t lo, int64_t hi, const R *restrict x_t, const R *restrict e_prev,
                             const R *restrict n_prev, const R *restrict u_prev, const R *restrict u_t,
                             const R *restrict gs_t, const R *restrict ge_t, const R *restrict gn_t,
                             const R *restrict gu_t, R *restrict gx_t, const R *restrict slope,
                             const R *restrict alpha, const R *restrict beta, const R *restrict tau,
                             const R *restrict theta, const R *restrict g, R *restrict ge0, R *restrict gn0,
                             R *restrict galpha, R *restrict gbeta, R *restrict gtau, R *restrict gtheta,
                             R *restrict gg, const int64_t pb, const int per, const int reset,
                             const int params) {
    const R zero = 0;
    const R a0 = alpha[0], b0 = beta[0], tau0 = tau[0], th0 = theta[0], g0 = g[0];
    for (int64_t k = lo; k < hi; k++) {
        R ep = e_prev[k], np_ = n_prev[k], up = u_prev[k];
        R th = per ? theta[k - pb] : th0, a = per ? alpha[k - pb] : a0, b = per ? beta[k - pb] : b0;
        R get = ge0[k] + ge_t[k];
        R gnt = gn0[k] + gn_t[k];
        R gut = gu_t[k];
        R z = u_t[k] - th;
        R gst = gs_t[k];
        R gz = gst * (per ? g[k - pb] : g0) * slope[k - lo];
        gut += gz;
        R dth = zero - gz;
        R extra = zero;
        int fired = up > th;
        if (reset == 0) {
            dth -= fired ? get : zero;
            extra = fired ? gut : zero;
            gnt = fired ? zero : gnt;
        } else if (reset == 1) {
            get = fired ? zero : get;
            gnt = fired ? zero : gnt;
            gut = fired ? zero : gut;
        }
        R tk = per ? tau[k - pb] : tau0;
        get += gut * tk;
        gnt += gut * tk;
        if (params) {
            R xv = x_t[k];
            gg[k] += z > 0 ? gst : zero;
            gtheta[k] += dth;
            gtau[k] += gut * ((a * ep + xv) + (b * np_ - xv));
            galpha[k] += get * ep;
            gbeta[k] += gnt * np_;
        }
        gx_t[k] = get - gnt;
        ge0[k] = a * get;
        gn0[k] = b * gnt + extra;
    }
}

/* As the LIF backward: time backwards, chunks of CHUNK neurons with their slopes on the stack; with
 * parameter gradients, tiles of TILE neurons (all steps of one tile before the next). */
INLINE void F(alpha_bwd_impl)(const alpha_bwd_args *A, int64_t lo, int64_t hi, R *restrict slope,
                              const int per, const int reset, const int params) {
    const int64_t T = A->T, N = A->N, tile = params ? TILE : hi - lo, P = A->P > 0 ? A->P : N;
    R *ge0 = A->ge0, *gn0 = A->gn0, *galpha = A->galpha, *gbeta = A->gbeta, *gtau = A->gtau;
    R *gtheta = A->gtheta, *gg = A->gg;
    for (int64_t k = lo; k < hi; k++) {
        ge0[k] = 0;
        gn0[k] = 0;
        galpha[k] = 0;
        gbeta[k] = 0;
        gtau[k] = 0;
        gtheta[k] = 0;
        gg[k] = 0;
    }
    for (int64_t k0 = lo; k0 < hi; k0 += tile) {
        int64_t k1 = k0 + tile < hi ? k0 + tile : hi;
        for (int64_t t = T - 1; t >= 0; t--) {
            const R *e_prev = t == 0 ? (const R *)A->e0 : (const R *)A->e + (t - 1) * N;
            const R *n_prev = t == 0 ? (const R *)A->n0 : (const R *)A->n + (t - 1) * N;
            const R *u_prev = t == 0 ? (const R *)A->u0 : (const R *)A->u + (t - 1) * N;
            const R *u_t = (const R *)A->u + t * N;
            for (int64_t c0 = k0, c1, pb; c0 < k1; c0 = c1) { /* with per, chunks end at period ends */
                c1 = seg_end(c0, c0 + CHUNK < k1 ? c0 + CHUNK : k1, P, per, &pb);
                F(slope_row)(u_t, A->theta, NULL, slope, c0, c1, pb, per, A->sid, A->p1, A->p2);
                F(alpha_bwd_row)(c0, c1, (const R *)A->x + t * N, e_prev, n_prev, u_prev, u_t,
                                 (const R *)A->gs + t * N, (const R *)A->ge + t * A->ge_stride,
                                 (const R *)A->gn + t * A->gn_stride, (const R *)A->gu + t * A->gu_stride,
                                 (R *)A->gx + t * N, slope, A->alpha, A->beta, A->tau, A->theta, A->g, ge0,
                                 gn0, galpha, gbeta, gtau, gtheta, gg, pb, per, reset, params);
            }
        }
    }
}

#define ABWD_PP(PER, RS) do { if (A->params) F(alpha_bwd_impl)(A, lo, hi, slope, PER, RS, 1); \
                             else F(alpha_bwd_impl)(A, lo, hi, slope, PER, RS, 0); } while (0)
#define ABWD_P(RS) do { if (A->per) ABWD_PP(1, RS); else ABWD_PP(0, RS); } while (0)

static CLONES int F(alpha_bwd_block)(const void *args, int64_t c) {
    const alpha_bwd_args *A = args;
    int64_t lo = c * A->N / A->nb, hi = (c + 1) * A->N / A->nb;
    R slope[CHUNK];
    switch (A->reset) {
    case 0: ABWD_P(0); break;
    case 1: ABWD_P(1); break;
    default: ABWD_P(2); break;
    }
    return 0;
}

EXPORT int F(sf_alpha_backward)(const alpha_bwd_args *A) {
    return run_blocks(F(alpha_bwd_block), A, A->nb);
}

/* ---------------------------------------------------------------- dense recurrence: one step */

/* the loop of one step, its arrays as restrict parameters (gcc honours restrict on parameters, also
 * once inlined, and then vectorises without run-time overlap checks) */
INLINE void F(rec_fwd_loop)(int64_t N, const R *restrict u_prev, const R *restrict i_prev,
                            const R *restrict x_t, const R *restrict r, const R *restrict alpha,
                            const R *restrict beta, const R *restrict theta, const R *restrict g,
                            R *restrict s_t, R *restrict u_t, R *restrict i_t, R *restrict v_t,
                            const int syn, const int reset, const int imm) {
    for (int64_t k = 0; k < N; k++) {
        R up = u_prev[k];
        R th = theta[k];
        R gk = g[k];
        R xk = x_t[k];
        R rk = r[k];
        R bk = beta[k];
        int fired = up - th > 0;
        R base, vv;
        if (syn) {
            R ic = alpha[k] * i_prev[k] + xk;
            ic = ic + rk;
            i_t[k] = ic;
            base = bk * up + ic;
        } else {
            base = bk * up + xk;
            base = base + rk;
        }
        if (reset == 0 && fired) vv = base - th;
        else if (reset == 1 && fired) vv = base - base;
        else vv = base;
        int hit = vv - th > 0;
        s_t[k] = hit ? gk : (R)0;
        if (imm) v_t[k] = vv;
        if (imm && hit != fired) { /* D = S/g - R = +-1 */
            if (reset == 0) vv = hit ? vv - th : vv + th;
            else vv = hit ? vv - vv : vv + vv;
        }
        u_t[k] = vv;
    }
}

INLINE void F(rec_fwd_impl)(const rec_fwd_args *A, const int syn, const int reset, const int imm) {
    const int64_t t = A->t, N = A->N;
    const R *u_prev = t == 0 ? (const R *)A->u0 : (const R *)A->u + (t - 1) * N;
    const R *i_prev = (t == 0 || !syn) ? (const R *)A->i0 : (const R *)A->itr + (t - 1) * N;
    F(rec_fwd_loop)(N, u_prev, i_prev, (const R *)A->x + t * N, A->rec, A->alpha, A->beta, A->theta, A->g,
                    (R *)A->spk + t * N, (R *)A->u + t * N, (R *)A->itr + (syn ? t : 0) * N,
                    (R *)A->v + (imm ? t : 0) * N, syn, reset, imm);
}

#define RF_IM(S, RS) do { if (A->immediate) F(rec_fwd_impl)(A, S, RS, 1); \
                          else F(rec_fwd_impl)(A, S, RS, 0); } while (0)
#define RF_RS(S) do { switch (A->reset) { case 0: RF_IM(S, 0); break; case 1: RF_IM(S, 1); break; \
                      default: F(rec_fwd_impl)(A, S, 2, 0); break; } } while (0)

EXPORT CLONES void F(sf_rec_step_forward)(const rec_fwd_args *A) {
    if (A->syn) RF_RS(1);
    else RF_RS(0);
}

INLINE void F(rec_bwd_impl)(const rec_bwd_args *A, const int syn, const int reset, const int imm,
                            const int params) {
    const int64_t t = A->t, N = A->N;
    const R *restrict alpha = A->alpha, *restrict beta = A->beta, *restrict theta = A->theta;
    const R *restrict g = A->g;
    const R *restrict u_prev = t == 0 ? (const R *)A->u0 : (const R *)A->u + (t - 1) * N;
    const R *restrict i_prev = (t == 0 || !syn) ? (const R *)A->i0 : (const R *)A->itr + (t - 1) * N;
    const R *restrict v_t = imm ? (const R *)A->v + t * N : (const R *)A->u + t * N;
    /* an absent upstream gradient is one zero row (stride 0), so every load is unconditional */
    const R *restrict gs_t = (const R *)A->gs + (A->has_gs ? t * N : 0);
    const R *restrict gu_t = (const R *)A->gu + (A->has_gu ? t * N : 0);
    const R *restrict gi_t = (const R *)A->gi + (A->has_gi ? t * N : 0);
    const R *restrict sl_t = A->slope;
    R *restrict gsc = A->gsc, *restrict guc = A->guc, *restrict gic = A->gic;
    R *restrict galpha = A->galpha, *restrict gbeta = A->gbeta, *restrict gtheta = A->gtheta;
    R *restrict gg = A->gg;
    R *restrict gx_t = (R *)A->gx + t * N;
    const int has_gs = A->has_gs, has_gu = A->has_gu, has_gi = A->has_gi;
    const R zero = 0, one = 1;
    for (int64_t k = 0; k < N; k++) {
        R th = theta[k];
        R gk = g[k];
        R up = u_prev[k];
        R vv = v_t[k];
        R gsv = gs_t[k], guv = gu_t[k];
        int fired = up - th > 0;
        int hit = vv - th > 0;
        R gut = has_gu ? guc[k] + guv : guc[k];
        R gst = has_gs ? gsc[k] + gsv : gsc[k];
        R dth = zero, dg = zero, gv = gut;
        if (imm) {
            R dd = (hit ? one : zero) - (fired ? one : zero);
            R q = gut * (reset == 0 ? th : vv) / gk;
            gst -= q;
            dg += hit ? q : zero;
            if (reset == 0) dth -= gut * dd;
            else gv = gut * (one - dd);
        }
        if (params) dg += hit ? gst : zero;
        R gz = gst * sl_t[k];
        gv += gz;
        dth -= gz;
        if (reset == 0) dth -= fired ? gv : zero;
        R gbase = (reset == 1 && fired) ? zero : gv;
        guc[k] = beta[k] * gbase;
        if (params) {
            gbeta[k] += gbase * up;
            gtheta[k] += dth;
            gg[k] += dg;
        }
        R gd;
        if (syn) {
            R giv = gi_t[k];
            gd = has_gi ? gic[k] + giv + gbase : gic[k] + gbase;
            if (params) galpha[k] += gd * i_prev[k];
            gic[k] = alpha[k] * gd;
        } else {
            gd = gbase;
        }
        gx_t[k] = gd;
    }
}

#define RB_P(S, RS, IM) do { if (params) F(rec_bwd_impl)(A, S, RS, IM, 1); \
                             else F(rec_bwd_impl)(A, S, RS, IM, 0); } while (0)
#define RB_IM(S, RS) do { if (A->immediate) RB_P(S, RS, 1); else RB_P(S, RS, 0); } while (0)
#define RB_RS(S) do { switch (A->reset) { case 0: RB_IM(S, 0); break; case 1: RB_IM(S, 1); break; \
                      default: RB_P(S, 2, 0); break; } } while (0)

/* Step t of the dense recurrence's BPTT; with a surrogate (sid != NO_GRAD) first fills A->slope with
 * g * s'(v[t] - theta) (else A->slope holds zeros). */
EXPORT CLONES void F(sf_rec_step_backward)(const rec_bwd_args *A) {
    if (A->sid != -1) {
        const R *v_t = (const R *)(A->immediate ? A->v : A->u) + A->t * A->N;
        F(slope_row)(v_t, A->theta, A->g, A->slope, 0, A->N, 0, 1, A->sid, A->p1, A->p2);
    }
    /* the parameter gradients: all four accumulated (their buffers are [N]) when any is needed */
    const int params = A->need_alpha || A->need_beta || A->need_theta || A->need_g;
    if (A->syn) RB_RS(1);
    else RB_RS(0);
}

#undef FWD_IM
#undef FWD_RS
#undef FWD_RC
#undef FWD_S
#undef BWD_P
#undef BWD_IM
#undef BWD_RS
#undef BWD_RC
#undef BWD_S
#undef SLOPE_SID
#undef ABWD_P
#undef RF_IM
#undef RF_RS
#undef RB_P
#undef RB_IM
#undef RB_RS
