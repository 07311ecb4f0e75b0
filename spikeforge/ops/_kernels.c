/* spikeforge's compiled CPU kernels: the fused LIF-family sequence (forward and BPTT) and one step of the
 * dense-recurrent LIF (forward and BPTT), in float32 and float64. Loaded with ctypes by
 * spikeforge/ops/_native.py (plain C, no Python API): built when the package is installed (setup.py, an
 * optional extension; without a C compiler the numba kernels are used instead).
 *
 * The equations, codes and array layouts are those of the numba kernels they replace, documented in
 * spikeforge/ops/lif/cpu.py and spikeforge/ops/recurrent/_numba.py; the BPTT derivations are in
 * spikeforge/ops/lif/__init__.py and spikeforge/ops/recurrent/__init__.py. The forward repeats the step
 * functions of spikeforge.core operation by operation in the data's precision; the build turns off FMA
 * contraction (-ffp-contract=off) so every product and sum is rounded as torch rounds it, and spikes and
 * states are bit-identical to the step loop.
 *
 * Arrays are time-major and flattened per step, [T, N] (N neurons of a batch), C-contiguous. The LIF
 * kernels split the neurons into `nb` contiguous blocks, one per thread (the caller picks
 * nb <= torch.get_num_threads(); see run_blocks: torch's OpenMP threads, or POSIX threads started per
 * call where the build had no OpenMP); the dense-recurrent step is serial (torch's threads
 * compute the recurrent product between steps). The loops are compiled once per configuration (the flags
 * are constants after inlining, so they carry no branches and vectorise) and, on x86-64 Linux with gcc,
 * once per instruction set (AVX2, baseline), picked at load time. Each loop takes its arrays as restrict
 * parameters and loads every element unconditionally: with loads under a data-dependent condition, or
 * arrays reached through a structure, gcc left most of them scalar (5-10x slower). */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef _WIN32
#define EXPORT __declspec(dllexport)
#else
#define EXPORT __attribute__((visibility("default")))
#include <pthread.h>
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
/* AVX2 and the baseline (SSE2), picked at load time. An AVX-512 clone (512-bit vectors) was slower on an
 * AVX-512 CPU (the LIF backward with parameter gradients: 4.0 ms against 2.9 ms for 3.2M elements). */
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

#if defined(__GNUC__)
#define INLINE static inline __attribute__((always_inline))
#else
#define INLINE static inline
#define restrict __restrict
#endif

/* The LIF backward's split of a block (see bwd_block_impl): CHUNK neurons per scratch row of surrogate
 * slopes (on the stack: L1-sized), TILE neurons per tile when it also sums parameter gradients. */
#ifndef CHUNK
#define CHUNK 512
#endif
#ifndef TILE
#define TILE 16384
#endif

/* Bump when an argument structure changes: spikeforge/ops/_native.py checks it. */
#define SF_ABI 6

EXPORT int sf_abi(void) { return SF_ABI; }

/* The LIF-family forward (one whole sequence). Pointers are R* (float or double) except where noted;
 * alpha, beta, theta, g, vrec are all [P] (per != 0; neuron k reads element k % P, N a multiple of P: a
 * parameter of the trailing dimensions, e.g. [F] for x[T, B, F], is read from L1/L2 instead of repeated
 * B times) or all [1]; i_prev/alpha are read with syn,
 * s_prev/vrec with rec (else 1-element placeholders); u/itr/v have T rows when keep, else 1 (each step
 * overwrites row 0). u_prev, i_prev, s_prev start as copies of the initial states and end as the last. */
typedef struct {
    int64_t T, N, P, keep;
    const void *x, *alpha, *beta, *theta, *g, *vrec;
    void *spk, *u, *itr, *v, *u_prev, *i_prev, *s_prev;
    int32_t per, syn, rec, reset, immediate, nb;
} lif_fwd_args;

/* The LIF-family BPTT. Parameters are all [P] (per; read as in the forward) or all one value ([1],
 * per == 0); gs, gu and gi are
 * [T, N] (row stride N) or one row read at every step (stride 0: a zero row for an absent gu/gi);
 * gu0/gi0/gs0 enter holding the gradients of the final states and leave holding those of the initial
 * ones; the parameter gradients are written only with params: 1 those of all but g, 2 all (summed
 * over time per neuron, [N], with per, else per block of neurons: see bwd_block_impl). */
typedef struct {
    int64_t T, N, P, gs_stride, gu_stride, gi_stride;
    const void *u0, *i0, *s0, *alpha, *beta, *theta, *g, *vrec;
    const void *spk, *u, *itr, *v, *gs, *gu, *gi;
    void *gx, *gu0, *gi0, *gs0, *galpha, *gbeta, *gtheta, *gg, *gvrec;
    double p1, p2;
    int32_t sid, syn, rec, reset, immediate, params, nb, per;
} lif_bwd_args;

/* One step t of the dense-recurrent LIF: rec is the recurrent input W(S[t-1]) ([N]); parameters [N]. */
typedef struct {
    int64_t t, N;
    const void *x, *rec, *u0, *i0, *alpha, *beta, *theta, *g;
    void *spk, *u, *itr, *v;
    int32_t syn, reset, immediate, unused;
} rec_fwd_args;

/* Step t of its BPTT; gsc/guc/gic are the carried gradients, slope an [N] scratch row. */
typedef struct {
    int64_t t, N;
    const void *u0, *i0, *alpha, *beta, *theta, *g, *u, *itr, *v, *gs, *gu, *gi;
    void *slope, *gsc, *guc, *gic, *galpha, *gbeta, *gtheta, *gg, *gx;
    double p1, p2;
    int32_t sid, syn, reset, immediate, has_gs, has_gu, has_gi;
    int32_t need_alpha, need_beta, need_theta, need_g, unused;
} rec_bwd_args;

/* The alpha neuron's forward (one whole sequence; ops/alpha/cpu.py): the parameters all [P] (per; read
 * as the LIF forward reads them) or all [1] (per == 0); e, n, u have T rows when keep, else 1; e_prev,
 * n_prev, u_prev start as copies of the initial states. */
typedef struct {
    int64_t T, N, P, keep;
    const void *x, *alpha, *beta, *tau, *theta, *g;
    void *spk, *e, *n, *u, *e_prev, *n_prev, *u_prev;
    int32_t reset, nb, per;
} alpha_fwd_args;

/* Its BPTT (parameters as in the forward): ge, gn, gu are [T, N] or one zero row (stride 0); ge0, gn0
 * leave holding the initial currents' gradients; every parameter gradient is [N], zeroed, and summed
 * over time per neuron only with params. */
typedef struct {
    int64_t T, N, P, ge_stride, gn_stride, gu_stride;
    const void *x, *e0, *n0, *u0, *alpha, *beta, *tau, *theta, *g, *e, *n, *u, *gs, *ge, *gn, *gu;
    void *gx, *ge0, *gn0, *galpha, *gbeta, *gtau, *gtheta, *gg;
    double p1, p2;
    int32_t sid, reset, params, nb, per;
} alpha_bwd_args;

typedef int (*block_fn)(const void *args, int64_t c);

#ifdef _OPENMP
/* fn(args, c) for every block c < nb, one per thread of the OpenMP runtime's pool. Built with -fopenmp
 * on Linux, this library names libgomp.so.1, which the loader resolves to the one torch already loaded:
 * the blocks then run on torch's own OpenMP threads, which torch's last parallel operation left spinning
 * (threads of our own had to wait for those to yield their core: 20 % slower on 2 cores). The
 * num_threads clause sets nothing global: torch's thread count is left as it was. */
static int run_blocks(block_fn fn, const void *args, int nb) {
    if (nb <= 1) return fn(args, 0);
    int rc = 0;
#pragma omp parallel for num_threads(nb) schedule(static, 1) reduction(| : rc)
    for (int c = 0; c < nb; c++) rc |= fn(args, c);
    return rc;
}
#else
#ifndef _WIN32
typedef struct {
    block_fn fn;
    const void *args;
    int64_t c;
    int rc;
} job_t;

static void *run_job(void *p) {
    job_t *j = p;
    j->rc = j->fn(j->args, j->c);
    return NULL;
}
#endif

/* fn(args, c) for every block c < nb: blocks 1.. on threads of their own, block 0 on the caller's (a
 * block whose thread cannot start runs on the caller's too). Returns nonzero if a block failed. */
static int run_blocks(block_fn fn, const void *args, int nb) {
    int rc = 0;
#ifndef _WIN32
    if (nb > 1) {
        job_t *jobs = calloc((size_t)nb, sizeof(job_t));
        pthread_t *threads = calloc((size_t)nb, sizeof(pthread_t));
        char *started = calloc((size_t)nb, 1);
        if (jobs && threads && started) {
            for (int c = 1; c < nb; c++) {
                jobs[c].fn = fn;
                jobs[c].args = args;
                jobs[c].c = c;
                started[c] = pthread_create(&threads[c], NULL, run_job, &jobs[c]) == 0;
            }
            rc |= fn(args, 0);
            for (int c = 1; c < nb; c++) {
                if (started[c]) {
                    pthread_join(threads[c], NULL);
                    rc |= jobs[c].rc;
                } else {
                    rc |= fn(args, c);
                }
            }
            free(jobs);
            free(threads);
            free(started);
            return rc;
        }
        free(jobs);
        free(threads);
        free(started);
    }
#endif
    for (int c = 0; c < nb; c++) rc |= fn(args, c);
    return rc;
}
#endif /* _OPENMP */

/* Where the segment of neurons [s0, hi) that starts at s0 ends when it must stay within one period of
 * the parameters (per: neuron k reads element k % P), with that period's start in *pb; without per, hi
 * and 0. The kernels loop over such segments, so that the inner loop reads the parameters at k - pb. */
static inline int64_t seg_end(int64_t s0, int64_t hi, int64_t P, int per, int64_t *pb) {
    *pb = per ? s0 - s0 % P : 0;
    return (per && *pb + P < hi) ? *pb + P : hi;
}

#define R float
#define F(x) x##_f32
#define ABS fabsf
#define EXP expf
#include "_kernels_impl.h"
#undef R
#undef F
#undef ABS
#undef EXP

#define R double
#define F(x) x##_f64
#define ABS fabs
#define EXP exp
#include "_kernels_impl.h"
#undef R
#undef F
#undef ABS
#undef EXP
