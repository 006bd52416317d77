// robustlab's fused CPU kernels, registered into TensorFlow through its C kernel API when the tfjs-node
// binding that scripts/setup-native.mjs builds is loaded (this file is compiled into that binding).
//
// Why: the pip TensorFlow is compiled for baseline x86-64, so its Eigen element-wise kernels run SSE
// code, one pass over memory per op; a transformer layer norm is 9 such passes forward and 12 backward.
// Each kernel here is one or two passes, compiled for x86-64-v4 (AVX-512), v3 (AVX2) and baseline,
// chosen at load time by the CPU (GCC target_clones; reductions vectorised by `omp simd`). Built with
// -fopenmp-simd, -fno-trapping-math (the clamps in fast_exp vectorise), -fno-math-errno (so does sqrt)
// and -ffp-contract=off (no FMA: Adam matches the tfjs formula bit for bit; the other loops turn FMA
// back on with a pragma). engine/backend/fused-kernels.ts
// probes for them; the engine falls back to the tfjs compositions (engine/ops/layer-norm.ts, gelu.ts,
// sparse-cross-entropy.ts, attention.ts, adam.ts) where they are absent, and the tests check both agree.
//
// Ops (float32; "rows" = every axis but the last):
//   RobustlabLayerNorm(x[..., d], gamma[d], beta[d]; epsilon) -> y, mean[rows], rstd[rows]
//   RobustlabLayerNormGrad(dy, x, gamma, mean, rstd) -> dx, dgamma[d], dbeta[d]
//   RobustlabGelu(x) -> x * sigmoid(1.702 x);  RobustlabGeluGrad(dy, x) -> dx
//   RobustlabSparseSoftmaxCrossEntropy(logits[n, c], labels int32[n], bias[c]) -> loss[n], logsumexp[n]
//     of logits + bias (each row); the output layer's bias, added here instead of in a pass of its own
//   RobustlabSparseSoftmaxCrossEntropyGrad(logits, logsumexp, labels, dloss[n], bias) -> dlogits[n, c], dbias[c]
//   RobustlabAttention(qkv[B*L, 3d], mask[B, L]; heads) -> out[B*L, d], probs[B, heads, L, L]
//     multi-head self-attention softmax(q k^T / sqrt(d / heads) + mask) v straight from the fused
//     q|k|v projection (row b*L + t, columns [q | k | v], head h at columns h*hd..), no split or transpose
//   RobustlabAttentionGrad(dout, qkv, probs; heads) -> dqkv[B*L, 3d]
//   RobustlabEmbed(ids int32[B, L], table[V, d], positions[P, d]) -> table[ids] + positions[t] as [B*L, d]
//   RobustlabEmbedGrad(dout[B*L, d], ids, table, positions) -> dtable[V, d], dpositions[P, d]
//     (table and positions are read for their shapes only)
//   RobustlabConvToOne(x[B, H, W, C], w[3, 3, C, 1], b[1]) -> y[B, H, W, 1]: a 3x3 'same' convolution to one channel
//   RobustlabConvToOneGrad(dy[B, H, W, 1], x, w) -> dx, dw, db
//   RobustlabResizeNearest(images[B, h, w, C], size int32[2] = H, W) -> [B, H, W, C]: as ResizeNearestNeighbor
//   RobustlabResizeNearestGrad(dy[B, H, W, C], size int32[2] = h, w) -> dx[B, h, w, C]
//   RobustlabAdam(p: N tensors, m: N, v: N, g: N, hyper[4] = lr_t, beta1, beta2, epsilon) -> p, m, v (N each)
//     one Adam step of every parameter in one call, in TensorFlow's formulation (as ResourceApplyAdam
//     with zero beta powers) and without FMA contraction, so bit-identical to engine/models/adam.ts's tfjs ops
// Each kernel but the embedding's splits its rows, elements or (batch, head) pairs over
// TF_NUM_INTRAOP_THREADS threads (default: the machine's cores), kept alive between calls (WorkerPool).
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <thread>
#include <string>
#include <vector>

#include "tensorflow/c/ops.h"
#include "tensorflow/c/tf_status.h"
#include "tensorflow/c/tf_tensor.h"

// The part of tensorflow/c/kernels.h used here, declared as in TensorFlow 2.21: the header itself pulls
// in stream-executor and pluggable-device headers that the build does not extract from the wheel.
extern "C" {
typedef struct TF_OpKernelConstruction TF_OpKernelConstruction;
typedef struct TF_OpKernelContext TF_OpKernelContext;
typedef struct TF_KernelBuilder TF_KernelBuilder;
TF_KernelBuilder* TF_NewKernelBuilder(const char* op_name, const char* device_name, void* (*create_func)(TF_OpKernelConstruction*),
                                      void (*compute_func)(void*, TF_OpKernelContext*), void (*delete_func)(void*));
void TF_RegisterKernelBuilder(const char* kernel_name, TF_KernelBuilder* builder, TF_Status* status);
int TF_NumInputs(TF_OpKernelContext* ctx);
void TF_GetInput(TF_OpKernelContext* ctx, int i, TF_Tensor** tensor, TF_Status* status);
TF_Tensor* TF_AllocateOutput(TF_OpKernelContext* context, int index, TF_DataType dtype, const int64_t* dims, int num_dims, size_t len, TF_Status* status);
void TF_OpKernelContext_Failure(TF_OpKernelContext* ctx, TF_Status* status);
void TF_OpKernelConstruction_Failure(TF_OpKernelConstruction* ctx, TF_Status* status);
void TF_OpKernelConstruction_GetAttrFloat(TF_OpKernelConstruction* ctx, const char* attr_name, float* val, TF_Status* status);
void TF_OpKernelConstruction_GetAttrInt32(TF_OpKernelConstruction* ctx, const char* attr_name, int32_t* val, TF_Status* status);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ROBUSTLAB_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ROBUSTLAB_CLONES
#endif

namespace {

// From here to Adam, a product followed by a sum compiles to one FMA where the CPU has it (the file is
// built with -ffp-contract=off for Adam's sake): cross-entropy 1.2x faster forward on the AVX2 machine.
#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast")

// exp(x) for x <= 88 (Cephes' expf: Cody-Waite reduction, degree-6 polynomial, relative error ~2e-7),
// written with plain arithmetic so that the loops calling it vectorise (x < -87 gives exp(-87)).
__attribute__((always_inline)) inline float fast_exp(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  // Round to nearest by adding and subtracting 1.5 * 2^23 (no call to floor, which blocks vectorising).
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float f = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * f + 1.3981999507e-3f;
  p = p * f + 8.3334519073e-3f;
  p = p * f + 4.1665795894e-2f;
  p = p * f + 1.6666665459e-1f;
  p = p * f + 5.0000001201e-1f;
  p = p * f * f + f + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return p * __builtin_bit_cast(float, bits);
}

constexpr float kGeluAlpha = 1.702f;

// ---- loops (no TensorFlow types, so the compiler sees plain arrays) ----

ROBUSTLAB_CLONES
void layer_norm_rows(const float* x, const float* g, const float* b, float eps, int64_t rows, int64_t d,
                     float* y, float* mean_out, float* rstd_out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < d; ++j) sum += xr[j];
    const float mean = sum / static_cast<float>(d);
    float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
    for (int64_t j = 0; j < d; ++j) sq += (xr[j] - mean) * (xr[j] - mean);
    const float rstd = 1.0f / std::sqrt(sq / static_cast<float>(d) + eps);
    for (int64_t j = 0; j < d; ++j) yr[j] = (xr[j] - mean) * rstd * g[j] + b[j];
    mean_out[r] = mean;
    rstd_out[r] = rstd;
  }
}

// dx of `rows` rows, and the rows' sums of dy * xhat and dy into dg and db (overwritten).
ROBUSTLAB_CLONES
void layer_norm_grad_rows(const float* dy, const float* x, const float* g, const float* mean, const float* rstd,
                          int64_t rows, int64_t d, float* dx, float* dg, float* db) {
  for (int64_t j = 0; j < d; ++j) dg[j] = db[j] = 0.0f;
  const float inv_d = 1.0f / static_cast<float>(d);
  for (int64_t r = 0; r < rows; ++r) {
    const float* dyr = dy + r * d;
    const float* xr = x + r * d;
    float* dxr = dx + r * d;
    const float m = mean[r], s = rstd[r];
    float sum_dxhat = 0.0f, sum_dxhat_xhat = 0.0f;
#pragma omp simd reduction(+ : sum_dxhat, sum_dxhat_xhat)
    for (int64_t j = 0; j < d; ++j) {
      const float xhat = (xr[j] - m) * s;
      const float dxhat = dyr[j] * g[j];
      sum_dxhat += dxhat;
      sum_dxhat_xhat += dxhat * xhat;
      dg[j] += dyr[j] * xhat;
      db[j] += dyr[j];
    }
    const float a = sum_dxhat * inv_d, c = sum_dxhat_xhat * inv_d;
    for (int64_t j = 0; j < d; ++j) {
      const float xhat = (xr[j] - m) * s;
      dxr[j] = s * (dyr[j] * g[j] - a - xhat * c);
    }
  }
}

ROBUSTLAB_CLONES
void gelu(const float* x, int64_t n, float* y) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (1.0f + fast_exp(-kGeluAlpha * x[i]));
}

ROBUSTLAB_CLONES
void gelu_grad(const float* dy, const float* x, int64_t n, float* dx) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float s = 1.0f / (1.0f + fast_exp(-kGeluAlpha * x[i]));
    dx[i] = dy[i] * (s + kGeluAlpha * x[i] * s * (1.0f - s));
  }
}

// The three passes of softmax cross-entropy over one row of logits z [c] plus a bias b [c].
ROBUSTLAB_CLONES
float row_max(const float* z, const float* b, int64_t c) {
  float m = z[0] + b[0];
#pragma omp simd reduction(max : m)
  for (int64_t j = 1; j < c; ++j) m = z[j] + b[j] > m ? z[j] + b[j] : m;
  return m;
}

ROBUSTLAB_CLONES
float row_sum_exp(const float* z, const float* b, int64_t c, float shift) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < c; ++j) s += fast_exp(z[j] + b[j] - shift);
  return s;
}

// out = softmax(z + b) * scale, and column sums += out (the bias gradient's share of this row).
ROBUSTLAB_CLONES
void row_softmax_scaled(const float* z, const float* b, int64_t c, float lse, float scale, float* out, float* sums) {
#pragma omp simd
  for (int64_t j = 0; j < c; ++j) {
    out[j] = fast_exp(z[j] + b[j] - lse) * scale;
    sums[j] += out[j];
  }
}

// C[i, j] = alpha * sum_k A[i, k] B[k, j] (+ row[j] where row is given) for rows [0, R) of A and C, A, B
// and C row-major with strides lda, ldb, ldc: the small products inside one attention head. Blocks of
// R rows by 16 columns accumulate in registers (8 AVX2 or 4 AVX-512 accumulators for R = 4), so each
// loaded row of B serves R rows of A; the columns past the last whole block are summed one by one.
template <int R>
__attribute__((always_inline)) inline void gemm_rows(int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
                                                     float* C, int64_t ldc, float alpha, const float* row) {
  constexpr int64_t W = 16;
  int64_t j0 = 0;
  for (; j0 + W <= N; j0 += W) {
    float acc[R][W] = {};
    for (int64_t k = 0; k < K; ++k) {
      const float* b = B + k * ldb + j0;
      for (int r = 0; r < R; ++r) {
        const float a = A[r * lda + k];
#pragma omp simd
        for (int64_t j = 0; j < W; ++j) acc[r][j] += a * b[j];
      }
    }
    for (int r = 0; r < R; ++r) {
      float* c = C + r * ldc + j0;
#pragma omp simd
      for (int64_t j = 0; j < W; ++j) c[j] = alpha * acc[r][j] + (row ? row[j0 + j] : 0.0f);
    }
  }
  for (; j0 < N; ++j0) {
    for (int r = 0; r < R; ++r) {
      float s = 0.0f;
      for (int64_t k = 0; k < K; ++k) s += A[r * lda + k] * B[k * ldb + j0];
      C[r * ldc + j0] = alpha * s + (row ? row[j0] : 0.0f);
    }
  }
}

ROBUSTLAB_CLONES
void small_gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                float alpha, const float* row) {
  int64_t i = 0;
  for (; i + 4 <= M; i += 4) gemm_rows<4>(N, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, alpha, row);
  for (; i < M; ++i) gemm_rows<1>(N, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, alpha, row);
}

// dst[c * rows + r] = src[r * stride + c] for r < rows, c < cols: a transposed copy into scratch.
inline void transpose_into(const float* src, int64_t stride, int64_t rows, int64_t cols, float* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * stride + c];
}

// Softmax of each of the L rows of p [L, L] in place.
ROBUSTLAB_CLONES
void softmax_rows(float* p, int64_t L) {
  for (int64_t i = 0; i < L; ++i, p += L) {
    float m = p[0];
#pragma omp simd reduction(max : m)
    for (int64_t j = 1; j < L; ++j) m = p[j] > m ? p[j] : m;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < L; ++j) {
      p[j] = fast_exp(p[j] - m);
      sum += p[j];
    }
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t j = 0; j < L; ++j) p[j] *= inv;
  }
}

// One (batch, head) of attention. q, k, v point at the head's first column in rows of `stride` floats;
// out at the head's first column in rows of `out_stride`; probs [L, L]; kt: scratch of hd * L floats.
// S = scale Q K^T + mask (each row), P = softmax(S), O = P V.
void attention_head(const float* q, const float* k, const float* v, int64_t stride, const float* mask, int64_t L, int64_t hd,
                    float scale, float* out, int64_t out_stride, float* probs, float* kt) {
  transpose_into(k, stride, L, hd, kt);
  small_gemm(L, L, hd, q, stride, kt, L, probs, L, scale, mask);
  softmax_rows(probs, L);
  small_gemm(L, hd, L, probs, L, v, stride, out, out_stride, 1.0f, nullptr);
}

// dS = P * (dP - rowsum(P * dP)) * scale, row by row, in place of dP [L, L].
ROBUSTLAB_CLONES
void softmax_grad_rows(const float* p, float* dp, int64_t L, float scale) {
  for (int64_t i = 0; i < L; ++i, p += L, dp += L) {
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int64_t j = 0; j < L; ++j) dot += p[j] * dp[j];
#pragma omp simd
    for (int64_t j = 0; j < L; ++j) dp[j] = p[j] * (dp[j] - dot) * scale;
  }
}

// Its gradient: dq, dk, dv as q, k, v (the head's columns of dqkv, each written whole); dout as out.
// Scratch: vt of hd * L floats, ds, st and pt of L * L. dP = dO V^T, dS as above, dQ = dS K, dK = dS^T Q,
// dV = P^T dO.
void attention_head_grad(const float* dout, int64_t out_stride, const float* q, const float* k, const float* v, int64_t stride,
                         const float* probs, int64_t L, int64_t hd, float scale, float* dq, float* dk, float* dv, float* vt, float* ds,
                         float* st, float* pt) {
  transpose_into(v, stride, L, hd, vt);
  small_gemm(L, L, hd, dout, out_stride, vt, L, ds, L, 1.0f, nullptr);
  softmax_grad_rows(probs, ds, L, scale);
  small_gemm(L, hd, L, ds, L, k, stride, dq, stride, 1.0f, nullptr);
  transpose_into(ds, L, L, L, st);
  small_gemm(L, hd, L, st, L, q, stride, dk, stride, 1.0f, nullptr);
  transpose_into(probs, L, L, L, pt);
  small_gemm(L, hd, L, pt, L, dout, out_stride, dv, stride, 1.0f, nullptr);
}

// A 3x3 'same' convolution of x [B, H, W, C] to one channel (weights w [3, 3, C], bias b), stride 1: the
// image models' reconstruction layer, a shape oneDNN runs at a tenth of its usual rate. One image at a
// time. For an output pixel and a kernel row ky, the taps inside the image are consecutive pixels of x
// and consecutive rows of w, so each kernel row is one dot product of up to 3C values, into 8 lanes.
ROBUSTLAB_CLONES
void conv_to_one_image(const float* x, const float* w, float b, int64_t H, int64_t W, int64_t C, float* y) {
  for (int64_t r = 0; r < H; ++r) {
    const int64_t ky0 = r == 0 ? 1 : 0, ky1 = r == H - 1 ? 2 : 3;
    for (int64_t q = 0; q < W; ++q) {
      const int64_t kx0 = q == 0 ? 1 : 0, kx1 = q == W - 1 ? 2 : 3, n = (kx1 - kx0) * C;
      float lanes[8] = {};
      float rest = 0.0f;
      for (int64_t ky = ky0; ky < ky1; ++ky) {
        const float* xs = x + ((r + ky - 1) * W + q + kx0 - 1) * C;
        const float* ws = w + (ky * 3 + kx0) * C;
        int64_t c = 0;
        for (; c + 8 <= n; c += 8) {
#pragma omp simd
          for (int64_t j = 0; j < 8; ++j) lanes[j] += xs[c + j] * ws[c + j];
        }
        for (; c < n; ++c) rest += xs[c] * ws[c];
      }
      float sum = b + rest;
      for (int64_t j = 0; j < 8; ++j) sum += lanes[j];
      y[r * W + q] = sum;
    }
  }
}

// Its gradients for one image: dx [H, W, C] written whole, dw [3, 3, C] and db accumulated.
ROBUSTLAB_CLONES
void conv_to_one_image_grad(const float* dy, const float* x, const float* w, int64_t H, int64_t W, int64_t C, float* dx, float* dw, float* db) {
  for (int64_t r = 0; r < H; ++r) {
    const int64_t ky0 = r == 0 ? 1 : 0, ky1 = r == H - 1 ? 2 : 3;
    for (int64_t q = 0; q < W; ++q) {
      const int64_t kx0 = q == 0 ? 1 : 0, kx1 = q == W - 1 ? 2 : 3, n = (kx1 - kx0) * C;
      const float g = dy[r * W + q];
      *db += g;
      // dx at (r, q): tap (ky, kx) connects it to the output pixel (r - ky + 1, q - kx + 1), which is inside
      // the image for the mirror of (r, q)'s own tap range.
      float* d = dx + (r * W + q) * C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) d[c] = 0.0f;
      for (int64_t ky = 3 - ky1; ky < 3 - ky0; ++ky) {
        for (int64_t kx = 3 - kx1; kx < 3 - kx0; ++kx) {
          const float gt = dy[(r - ky + 1) * W + q - kx + 1];
          const float* ws = w + (ky * 3 + kx) * C;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) d[c] += gt * ws[c];
        }
      }
      // dw[ky, kx0..kx1) += g times (r, q)'s taps in kernel row ky: consecutive in both.
      for (int64_t ky = ky0; ky < ky1; ++ky) {
        const float* xs = x + ((r + ky - 1) * W + q + kx0 - 1) * C;
        float* dws = dw + (ky * 3 + kx0) * C;
#pragma omp simd
        for (int64_t c = 0; c < n; ++c) dws[c] += g * xs[c];
      }
    }
  }
}

// Nearest-neighbour resizing, as TensorFlow's ResizeNearestNeighbor (no corner alignment, no half-pixel
// centres): output index i of `out` copies input index floor(i * in / out), the product in float as
// TensorFlow takes it. Computed once per call for the rows and the columns, not per pixel.
std::vector<int64_t> nearest_sources(int64_t in, int64_t out) {
  std::vector<int64_t> src(out);
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int64_t i = 0; i < out; ++i) src[i] = std::min<int64_t>(static_cast<int64_t>(std::floor(static_cast<float>(i) * scale)), in - 1);
  return src;
}

// One image x [h, w, C] resized to y [H, W, C]: output (Y, X) copies input (rows[Y], cols[X]).
ROBUSTLAB_CLONES
void resize_nearest_image(const float* x, const int64_t* rows, const int64_t* cols, int64_t w, int64_t C, int64_t H, int64_t W, float* y) {
  for (int64_t Y = 0; Y < H; ++Y) {
    const float* row = x + rows[Y] * w * C;
    for (int64_t X = 0; X < W; ++X) {
      const float* src = row + cols[X] * C;
      float* dst = y + (Y * W + X) * C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) dst[c] = src[c];
    }
  }
}

// Its gradient for one image: dx [h, w, C] (written whole) sums the dy pixels copied from each input pixel.
ROBUSTLAB_CLONES
void resize_nearest_image_grad(const float* dy, const int64_t* rows, const int64_t* cols, int64_t h, int64_t w, int64_t C, int64_t H, int64_t W,
                               float* dx) {
  std::fill(dx, dx + h * w * C, 0.0f);
  for (int64_t Y = 0; Y < H; ++Y) {
    float* row = dx + rows[Y] * w * C;
    for (int64_t X = 0; X < W; ++X) {
      float* dst = row + cols[X] * C;
      const float* src = dy + (Y * W + X) * C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) dst[c] += src[c];
    }
  }
}

#pragma GCC pop_options

// Adam's update of n values: each product and sum rounded on its own as in the tfjs formula (the file is
// built with -ffp-contract=off: no FMA), and sqrt without an errno branch (-fno-math-errno), so it vectorises.
ROBUSTLAB_CLONES
void adam_update(const float* p, const float* m, const float* v, const float* g, int64_t n, float lr, float one_minus_b1,
                 float one_minus_b2, float eps, float* p_out, float* m_out, float* v_out) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float mi = m[i] + (g[i] - m[i]) * one_minus_b1;
    const float vi = v[i] + (g[i] * g[i] - v[i]) * one_minus_b2;
    m_out[i] = mi;
    v_out[i] = vi;
    p_out[i] = p[i] - (mi * lr) / (std::sqrt(vi) + eps);
  }
}

// out[b*L + t] = table[ids[b, t]] + positions[t].
ROBUSTLAB_CLONES
void embed_rows(const int32_t* ids, const float* table, const float* positions, int64_t B, int64_t L, int64_t d, float* out) {
  for (int64_t r = 0; r < B * L; ++r) {
    const float* e = table + static_cast<int64_t>(ids[r]) * d;
    const float* p = positions + (r % L) * d;
    float* o = out + r * d;
#pragma omp simd
    for (int64_t j = 0; j < d; ++j) o[j] = e[j] + p[j];
  }
}

// Its gradients: dtable[v] = sum of dout rows whose id is v; dpositions[t] = sum over b of dout[b*L + t]
// (zero for t >= L).
ROBUSTLAB_CLONES
void embed_grad_rows(const float* dout, const int32_t* ids, int64_t B, int64_t L, int64_t V, int64_t P, int64_t d, float* dtable, float* dpos) {
  std::fill(dtable, dtable + V * d, 0.0f);
  std::fill(dpos, dpos + P * d, 0.0f);
  for (int64_t r = 0; r < B * L; ++r) {
    const float* g = dout + r * d;
    float* e = dtable + static_cast<int64_t>(ids[r]) * d;
    float* p = dpos + (r % L) * d;
#pragma omp simd
    for (int64_t j = 0; j < d; ++j) {
      e[j] += g[j];
      p[j] += g[j];
    }
  }
}

// ---- threads ----

// Threads a kernel may use: TF_NUM_INTRAOP_THREADS as TensorFlow reads it, else the machine's cores.
int thread_budget() {
  static const int budget = [] {
    const char* env = std::getenv("ROBUSTLAB_KERNEL_THREADS");
    if (!env) env = std::getenv("TF_NUM_INTRAOP_THREADS");
    int n = env ? std::atoi(env) : 0;
    if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
    return std::clamp(n, 1, 64);
  }();
  return budget;
}

// Threads that stay alive between kernel calls (starting one per call cost 20-60 us, more than a layer
// norm of [3072, 64] takes). run(chunks, fn, ctx) calls fn(ctx, t) for t in [0, chunks), on the caller and
// the workers, and returns when every call has returned. One job at a time: a caller that finds the pool
// busy (another TensorFlow thread) runs its chunks itself. The pool is never destroyed: its workers sleep
// on a condition variable until the process ends.
class WorkerPool {
 public:
  explicit WorkerPool(int workers) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
  }

  void run(int64_t chunks, void (*fn)(const void*, int64_t), const void* ctx) {
    std::unique_lock<std::mutex> job(busy_, std::try_to_lock);
    if (!job.owns_lock()) {
      for (int64_t t = 0; t < chunks; ++t) fn(ctx, t);
      return;
    }
    std::unique_lock<std::mutex> lock(m_);
    fn_ = fn;
    ctx_ = ctx;
    chunks_ = chunks;
    remaining_ = chunks;
    next_.store(0);
    ++generation_;
    wake_.notify_all();
    lock.unlock();
    const int64_t finished = claim(fn, ctx, chunks);
    lock.lock();
    remaining_ -= finished;
    done_.wait(lock, [this] { return remaining_ == 0 && active_ == 0; });
  }

 private:
  int64_t claim(void (*fn)(const void*, int64_t), const void* ctx, int64_t chunks) {
    int64_t finished = 0;
    for (int64_t t; (t = next_.fetch_add(1)) < chunks; ++finished) fn(ctx, t);
    return finished;
  }

  void work() {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      wake_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      // The job cannot change while active_ > 0: run() returns only when it is 0 again.
      const auto fn = fn_;
      const void* ctx = ctx_;
      const int64_t chunks = chunks_;
      ++active_;
      lock.unlock();
      const int64_t finished = claim(fn, ctx, chunks);
      lock.lock();
      remaining_ -= finished;
      if (--active_ == 0 && remaining_ == 0) done_.notify_one();
    }
  }

  std::mutex busy_, m_;
  std::condition_variable wake_, done_;
  void (*fn_)(const void*, int64_t) = nullptr;
  const void* ctx_ = nullptr;
  int64_t chunks_ = 0, remaining_ = 0;
  int active_ = 0;
  uint64_t generation_ = 0;
  std::atomic<int64_t> next_{0};
  std::vector<std::thread> threads_;
};

WorkerPool& worker_pool() {
  static WorkerPool* pool = new WorkerPool(thread_budget() - 1);  // leaked on purpose: see WorkerPool
  return *pool;
}

// body(begin, end) over [0, n) in contiguous chunks of at least `grain`, on up to thread_budget() threads
// (the caller's among them). Chunks write disjoint outputs.
template <typename Body>
void parallel_for(int64_t n, int64_t grain, Body body) {
  const int64_t threads = std::min<int64_t>(thread_budget(), std::max<int64_t>(1, n / std::max<int64_t>(1, grain)));
  if (threads <= 1) return body(int64_t{0}, n);
  const int64_t chunk = (n + threads - 1) / threads;
  auto one = [&](int64_t t) { body(std::min(n, t * chunk), std::min(n, (t + 1) * chunk)); };
  worker_pool().run(threads, [](const void* f, int64_t t) { (*static_cast<const decltype(one)*>(f))(t); }, &one);
}

// Sums over many rows (or images) that a kernel's gradient needs, e.g. a bias gradient: body(begin, end, sums)
// handles items [begin, end) and adds into `width` zeroed floats of its block's own; each block of `block`
// items runs on some thread, and the blocks' sums are added in block order, so the result does not depend
// on how many threads ran. Returns the total, `width` floats.
template <typename Body>
std::vector<float> blocked_sums(int64_t items, int64_t block, int64_t width, Body body) {
  const int64_t blocks = (items + block - 1) / block;
  std::vector<float> partial(blocks * width, 0.0f), total(width, 0.0f);
  float* sums = partial.data();
  parallel_for(blocks, 1, [=](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) body(k * block, std::min(items, (k + 1) * block), sums + k * width);
  });
  for (int64_t k = 0; k < blocks; ++k)
    for (int64_t j = 0; j < width; ++j) total[j] += sums[k * width + j];
  return total;
}

// Work below these sizes runs on the calling thread alone: rows of a row-wise kernel, elements of an
// element-wise one (waking a pool worker and waiting for it costs microseconds).
constexpr int64_t kRowBlock = 256;
constexpr int64_t kElementBlock = 1 << 15;
// Rows of cross-entropy's gradient per block of the bias gradient's sums (blocked_sums).
constexpr int64_t kCrossEntropyBlock = 32;

// ---- TensorFlow plumbing ----

std::vector<int64_t> dims_of(const TF_Tensor* t) {
  std::vector<int64_t> dims(TF_NumDims(t));
  for (size_t i = 0; i < dims.size(); ++i) dims[i] = TF_Dim(t, static_cast<int>(i));
  return dims;
}

int64_t last_dim(const TF_Tensor* t) { return TF_NumDims(t) == 0 ? 1 : TF_Dim(t, TF_NumDims(t) - 1); }

float* data(TF_Tensor* t) { return static_cast<float*>(TF_TensorData(t)); }

const int32_t* ids_of(TF_Tensor* t) { return static_cast<const int32_t*>(TF_TensorData(t)); }

// One kernel call: every input, fetched when the call starts, the outputs it allocates, and its status.
// When the call ends it releases the tensors and reports a failure to TensorFlow, once.
class Call {
 public:
  explicit Call(TF_OpKernelContext* ctx) : ctx_(ctx), status_(TF_NewStatus()) {
    const int n = TF_NumInputs(ctx);
    for (int i = 0; i < n && ok(); ++i) {
      TF_Tensor* t = nullptr;
      TF_GetInput(ctx, i, &t, status_);
      if (ok()) inputs_.push_back(t);
    }
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  ~Call() {
    for (TF_Tensor* t : inputs_) TF_DeleteTensor(t);
    for (TF_Tensor* t : outputs_) TF_DeleteTensor(t);
    if (!ok()) TF_OpKernelContext_Failure(ctx_, status_);
    TF_DeleteStatus(status_);
  }

  bool ok() const { return TF_GetCode(status_) == TF_OK; }
  int inputs() const { return static_cast<int>(inputs_.size()); }
  TF_Tensor* in(int i) const { return inputs_[i]; }

  // The data of float output i with the given dims; null once the call has failed.
  float* out(int i, const std::vector<int64_t>& dims) {
    if (!ok()) return nullptr;
    int64_t n = 1;
    for (int64_t v : dims) n *= v;
    TF_Tensor* t = TF_AllocateOutput(ctx_, i, TF_FLOAT, dims.data(), static_cast<int>(dims.size()), n * sizeof(float), status_);
    if (!ok()) return nullptr;
    outputs_.push_back(t);
    return data(t);
  }

  // Fails the call with a one-line message for the user; returns false.
  bool fail(const std::string& message) {
    TF_SetStatus(status_, TF_INVALID_ARGUMENT, message.c_str());
    return false;
  }

 private:
  TF_OpKernelContext* ctx_;
  TF_Status* status_;
  std::vector<TF_Tensor*> inputs_, outputs_;
};

// A kernel whose state is one attribute, read when TensorFlow builds the kernel.
template <typename T>
void* create_with_attr(TF_OpKernelConstruction* construction, const char* name, T initial,
                       void (*get)(TF_OpKernelConstruction*, const char*, T*, TF_Status*)) {
  auto* value = new T(initial);
  TF_Status* status = TF_NewStatus();
  get(construction, name, value, status);
  if (TF_GetCode(status) != TF_OK) TF_OpKernelConstruction_Failure(construction, status);
  TF_DeleteStatus(status);
  return value;
}

template <typename T>
void delete_with_attr(void* kernel) {
  delete static_cast<T*>(kernel);
}

void* create_layer_norm(TF_OpKernelConstruction* c) { return create_with_attr<float>(c, "epsilon", 1e-5f, TF_OpKernelConstruction_GetAttrFloat); }
void* create_attention(TF_OpKernelConstruction* c) { return create_with_attr<int32_t>(c, "heads", 1, TF_OpKernelConstruction_GetAttrInt32); }

void* create_stateless(TF_OpKernelConstruction*) { return nullptr; }
void delete_stateless(void*) {}

void compute_layer_norm(void* kernel, TF_OpKernelContext* ctx) {
  Call c(ctx);
  if (!c.ok()) return;
  TF_Tensor *x = c.in(0), *g = c.in(1), *b = c.in(2);
  const int64_t d = last_dim(x), rows = d == 0 ? 0 : TF_TensorElementCount(x) / d;
  if (TF_TensorElementCount(g) != d || TF_TensorElementCount(b) != d) return void(c.fail("RobustlabLayerNorm: gamma and beta must have the size of x's last axis"));
  float* y = c.out(0, dims_of(x));
  float* mean = c.out(1, {rows});
  float* rstd = c.out(2, {rows});
  if (!rstd) return;
  const float *xs = data(x), *gs = data(g), *bs = data(b), eps = *static_cast<float*>(kernel);
  parallel_for(rows, kRowBlock, [=](int64_t begin, int64_t end) {
    layer_norm_rows(xs + begin * d, gs, bs, eps, end - begin, d, y + begin * d, mean + begin, rstd + begin);
  });
}

void compute_layer_norm_grad(void*, TF_OpKernelContext* ctx) {
  Call c(ctx);
  if (!c.ok()) return;
  TF_Tensor *dy = c.in(0), *x = c.in(1), *g = c.in(2), *mean = c.in(3), *rstd = c.in(4);
  const int64_t d = last_dim(x), rows = d == 0 ? 0 : TF_TensorElementCount(x) / d;
  if (TF_TensorElementCount(dy) != rows * d || TF_TensorElementCount(g) != d || TF_TensorElementCount(mean) != rows || TF_TensorElementCount(rstd) != rows)
    return void(c.fail("RobustlabLayerNormGrad: inconsistent shapes"));
  float* dx = c.out(0, dims_of(x));
  float* dg = c.out(1, {d});
  float* db = c.out(2, {d});
  if (!db) return;
  const float *dys = data(dy), *xs = data(x), *gs = data(g), *ms = data(mean), *rs = data(rstd);
  const std::vector<float> sums = blocked_sums(rows, kRowBlock, 2 * d, [=](int64_t r0, int64_t r1, float* s) {
    layer_norm_grad_rows(dys + r0 * d, xs + r0 * d, gs, ms + r0, rs + r0, r1 - r0, d, dx + r0 * d, s, s + d);
  });
  std::copy(sums.begin(), sums.begin() + d, dg);
  std::copy(sums.begin() + d, sums.end(), db);
}

void compute_gelu(void*, TF_OpKernelContext* ctx) {
  Call c(ctx);
  if (!c.ok()) return;
  TF_Tensor* x = c.in(0);
  float* y = c.out(0, dims_of(x));
  if (!y) return;
  const float* xs = data(x);
  parallel_for(TF_TensorElementCount(x), kElementBlock, [=](int64_t begin, int64_t end) { gelu(xs + begin, end - begin, y + begin); });
}

void compute_gelu_grad(void*, TF_OpKernelContext* ctx) {
  Call c(ctx);
  if (!c.ok()) return;
  TF_Tensor *dy = c.in(0), *x = c.in(1);
  if (TF_TensorElementCount(dy) != TF_TensorElementCount(x)) return void(c.fail("RobustlabGeluGrad: dy and x differ in size"));
  float* dx = c.out(0, dims_of(x));
  if (!dx) return;
  const float *dys = data(dy), *xs = data(x);
  parallel_for(TF_TensorElementCount(x), kElementBlock, [=](int64_t begin, int64_t end) { gelu_grad(dys + begin, xs + begin, end - begin, dx + begin); });
}

// Checks logits [n, c], labels [n] in [0, c) and bias [c]; false with the call failed.
bool check_cross_entropy(Call& call, const char* op, TF_Tensor* logits, TF_Tensor* labels, TF_Tensor* bias) {
  if (TF_NumDims(logits) != 2 || TF_NumDims(labels) != 1 || TF_Dim(labels, 0) != TF_Dim(logits, 0) || TF_Dim(logits, 1) == 0 ||
      TF_TensorElementCount(bias) != TF_Dim(logits, 1))
    return call.fail(std::string(op) + ": logits must be [n, c] with c > 0, labels [n] and bias [c]");
  const int64_t n = TF_Dim(logits, 0), c = TF_Dim(logits, 1);
  const int32_t* y = ids_of(labels);
  for (int64_t i = 0; i < n; ++i) {
    if (y[i] < 0 || y[i] >= c)
      return call.fail(std::string(op) + ": label " + std::to_string(y[i]) + " at row " + std::to_string(i) + " is outside [0, " + std::to_string(c) + ")");
  }
  return true;
}

void compute_cross_entropy(void*, TF_OpKernelContext* ctx) {
  Call call(ctx);
  if (!call.ok()) return;
  TF_Tensor *logits = call.in(0), *labels = call.in(1), *bias = call.in(2);
  if (!check_cross_entropy(call, "RobustlabSparseSoftmaxCrossEntropy", logits, labels, bias)) return;
  const int64_t n = TF_Dim(logits, 0), c = TF_Dim(logits, 1);
  float* loss = call.out(0, {n});
  float* lse = call.out(1, {n});
  if (!lse) return;
  const float *z = data(logits), *b = data(bias);
  const int32_t* y = ids_of(labels);
  parallel_for(n, 64, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float* zi = z + i * c;
      const float m = row_max(zi, b, c);
      const float l = m + std::log(row_sum_exp(zi, b, c, m));
      lse[i] = l;
      loss[i] = l - (zi[y[i]] + b[y[i]]);
    }
  });
}

void compute_cross_entropy_grad(void*, TF_OpKernelContext* ctx) {
  Call call(ctx);
  if (!call.ok()) return;
  TF_Tensor *logits = call.in(0), *lse = call.in(1), *labels = call.in(2), *dloss = call.in(3), *bias = call.in(4);
  if (!check_cross_entropy(call, "RobustlabSparseSoftmaxCrossEntropyGrad", logits, labels, bias)) return;
  const int64_t n = TF_Dim(logits, 0), c = TF_Dim(logits, 1);
  if (TF_TensorElementCount(lse) != n || TF_TensorElementCount(dloss) != n) return void(call.fail("RobustlabSparseSoftmaxCrossEntropyGrad: logsumexp and dloss must be [n]"));
  float* out = call.out(0, {n, c});
  float* dbias = call.out(1, {c});
  if (!dbias) return;
  const int32_t* y = ids_of(labels);
  const float *z = data(logits), *b = data(bias), *l = data(lse), *g = data(dloss);
  const std::vector<float> sums = blocked_sums(n, kCrossEntropyBlock, c, [=](int64_t begin, int64_t end, float* s) {
    for (int64_t i = begin; i < end; ++i) {
      row_softmax_scaled(z + i * c, b, c, l[i], g[i], out + i * c, s);
      out[i * c + y[i]] -= g[i];
      s[y[i]] -= g[i];
    }
  });
  std::copy(sums.begin(), sums.end(), dbias);
}

void compute_adam(void*, TF_OpKernelContext* ctx) {
  Call c(ctx);
  if (!c.ok()) return;
  const int inputs = c.inputs();
  if (inputs < 5 || (inputs - 1) % 4 != 0) return void(c.fail("RobustlabAdam: inputs must be N parameters, N m, N v, N gradients and hyper"));
  const int n = (inputs - 1) / 4;
  if (TF_TensorElementCount(c.in(4 * n)) != 4) return void(c.fail("RobustlabAdam: hyper must be [lr_t, beta1, beta2, epsilon]"));
  const float* hyper = data(c.in(4 * n));
  const float lr = hyper[0], one_minus_b1 = 1.0f - hyper[1], one_minus_b2 = 1.0f - hyper[2], eps = hyper[3];
  for (int k = 0; k < n; ++k) {
    const int64_t size = TF_TensorElementCount(c.in(k));
    for (int j = 1; j < 4; ++j)
      if (TF_TensorElementCount(c.in(j * n + k)) != size) return void(c.fail("RobustlabAdam: parameter " + std::to_string(k) + " and its m, v, gradient differ in size"));
  }
  for (int k = 0; k < n; ++k) {
    float* po = c.out(k, dims_of(c.in(k)));
    float* mo = c.out(n + k, dims_of(c.in(k)));
    float* vo = c.out(2 * n + k, dims_of(c.in(k)));
    if (!vo) return;
    const float *p = data(c.in(k)), *m = data(c.in(n + k)), *v = data(c.in(2 * n + k)), *g = data(c.in(3 * n + k));
    parallel_for(TF_TensorElementCount(c.in(k)), 1 << 16, [=](int64_t begin, int64_t end) {
      adam_update(p + begin, m + begin, v + begin, g + begin, end - begin, lr, one_minus_b1, one_minus_b2, eps, po + begin, mo + begin, vo + begin);
    });
  }
}

// Checks ids [B, L] in [0, V) with L <= P; false with the call failed.
bool check_embedding(Call& call, const char* op, TF_Tensor* ids, TF_Tensor* table, TF_Tensor* positions) {
  if (TF_NumDims(ids) != 2 || TF_NumDims(table) != 2 || TF_NumDims(positions) != 2 || TF_Dim(table, 1) != TF_Dim(positions, 1) || TF_Dim(ids, 1) > TF_Dim(positions, 0))
    return call.fail(std::string(op) + ": ids must be [B, L], table [V, d] and positions [P, d] with L <= P");
  const int64_t n = TF_TensorElementCount(ids), V = TF_Dim(table, 0);
  const int32_t* id = ids_of(ids);
  for (int64_t i = 0; i < n; ++i) {
    if (id[i] < 0 || id[i] >= V)
      return call.fail(std::string(op) + ": token id " + std::to_string(id[i]) + " is outside the vocabulary [0, " + std::to_string(V) + ")");
  }
  return true;
}

void compute_embed(void*, TF_OpKernelContext* ctx) {
  Call c(ctx);
  if (!c.ok()) return;
  TF_Tensor *ids = c.in(0), *table = c.in(1), *positions = c.in(2);
  if (!check_embedding(c, "RobustlabEmbed", ids, table, positions)) return;
  const int64_t B = TF_Dim(ids, 0), L = TF_Dim(ids, 1), d = TF_Dim(table, 1);
  if (float* out = c.out(0, {B * L, d})) embed_rows(ids_of(ids), data(table), data(positions), B, L, d, out);
}

void compute_embed_grad(void*, TF_OpKernelContext* ctx) {
  Call c(ctx);
  if (!c.ok()) return;
  TF_Tensor *dout = c.in(0), *ids = c.in(1), *table = c.in(2), *positions = c.in(3);
  if (!check_embedding(c, "RobustlabEmbedGrad", ids, table, positions)) return;
  const int64_t B = TF_Dim(ids, 0), L = TF_Dim(ids, 1), V = TF_Dim(table, 0), P = TF_Dim(positions, 0), d = TF_Dim(table, 1);
  if (TF_TensorElementCount(dout) != B * L * d) return void(c.fail("RobustlabEmbedGrad: dout must be [B*L, d]"));
  float* dtable = c.out(0, {V, d});
  float* dpos = c.out(1, {P, d});
  if (dpos) embed_grad_rows(data(dout), ids_of(ids), B, L, V, P, d, dtable, dpos);
}

// Attention's sizes from qkv [B*L, 3d] and mask [B, L] (or probs [B, heads, L, L]).
struct AttentionShape {
  int64_t B, L, d, hd, heads;
};

// Checks qkv against B, L and heads; false with the call failed.
bool attention_shape(Call& call, const char* op, TF_Tensor* qkv, int64_t B, int64_t L, int32_t heads, AttentionShape* out) {
  if (TF_NumDims(qkv) != 2 || TF_Dim(qkv, 0) != B * L || TF_Dim(qkv, 1) % 3 != 0 || heads <= 0 || (TF_Dim(qkv, 1) / 3) % heads != 0)
    return call.fail(std::string(op) + ": qkv must be [B*L, 3d] with d divisible by heads");
  const int64_t d = TF_Dim(qkv, 1) / 3;
  *out = {B, L, d, d / heads, heads};
  return true;
}

void compute_attention(void* kernel, TF_OpKernelContext* ctx) {
  Call c(ctx);
  if (!c.ok()) return;
  TF_Tensor *qkv = c.in(0), *mask = c.in(1);
  if (TF_NumDims(mask) != 2) return void(c.fail("RobustlabAttention: mask must be [B, L]"));
  AttentionShape s;
  if (!attention_shape(c, "RobustlabAttention", qkv, TF_Dim(mask, 0), TF_Dim(mask, 1), *static_cast<int32_t*>(kernel), &s)) return;
  float* o = c.out(0, {s.B * s.L, s.d});
  float* p = c.out(1, {s.B, s.heads, s.L, s.L});
  if (!p) return;
  const float *x = data(qkv), *m = data(mask);
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.hd));
  parallel_for(s.B * s.heads, 4, [=](int64_t begin, int64_t end) {
    std::vector<float> kt(s.hd * s.L);
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t b = bh / s.heads, h = bh % s.heads;
      const float* rows = x + b * s.L * 3 * s.d + h * s.hd;
      attention_head(rows, rows + s.d, rows + 2 * s.d, 3 * s.d, m + b * s.L, s.L, s.hd, scale, o + b * s.L * s.d + h * s.hd, s.d,
                     p + bh * s.L * s.L, kt.data());
    }
  });
}

void compute_attention_grad(void* kernel, TF_OpKernelContext* ctx) {
  Call c(ctx);
  if (!c.ok()) return;
  TF_Tensor *dout = c.in(0), *qkv = c.in(1), *probs = c.in(2);
  const int32_t heads = *static_cast<int32_t*>(kernel);
  if (TF_NumDims(probs) != 4 || TF_Dim(probs, 1) != heads || TF_Dim(probs, 2) != TF_Dim(probs, 3))
    return void(c.fail("RobustlabAttentionGrad: probs must be [B, heads, L, L]"));
  AttentionShape s;
  if (!attention_shape(c, "RobustlabAttentionGrad", qkv, TF_Dim(probs, 0), TF_Dim(probs, 2), heads, &s)) return;
  if (TF_TensorElementCount(dout) != s.B * s.L * s.d) return void(c.fail("RobustlabAttentionGrad: dout must be [B*L, d]"));
  float* dx = c.out(0, {s.B * s.L, 3 * s.d});
  if (!dx) return;
  const float *dy = data(dout), *x = data(qkv), *p = data(probs);
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.hd));
  parallel_for(s.B * s.heads, 4, [=](int64_t begin, int64_t end) {
    std::vector<float> vt(s.hd * s.L), ds(s.L * s.L), st(s.L * s.L), pt(s.L * s.L);
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t b = bh / s.heads, h = bh % s.heads;
      const int64_t offset = b * s.L * 3 * s.d + h * s.hd;
      const float* rows = x + offset;
      float* drows = dx + offset;
      attention_head_grad(dy + b * s.L * s.d + h * s.hd, s.d, rows, rows + s.d, rows + 2 * s.d, 3 * s.d, p + bh * s.L * s.L, s.L, s.hd, scale,
                          drows, drows + s.d, drows + 2 * s.d, vt.data(), ds.data(), st.data(), pt.data());
    }
  });
}

// Checks x [B, H, W, C] and w [3, 3, C, 1]; false with the call failed.
bool check_conv_to_one(Call& call, const char* op, TF_Tensor* x, TF_Tensor* w) {
  if (TF_NumDims(x) != 4 || TF_NumDims(w) != 4 || TF_Dim(w, 0) != 3 || TF_Dim(w, 1) != 3 || TF_Dim(w, 2) != TF_Dim(x, 3) || TF_Dim(w, 3) != 1)
    return call.fail(std::string(op) + ": x must be [B, H, W, C] and w [3, 3, C, 1]");
  return true;
}

void compute_conv_to_one(void*, TF_OpKernelContext* ctx) {
  Call c(ctx);
  if (!c.ok()) return;
  TF_Tensor *x = c.in(0), *w = c.in(1), *b = c.in(2);
  if (!check_conv_to_one(c, "RobustlabConvToOne", x, w)) return;
  if (TF_TensorElementCount(b) != 1) return void(c.fail("RobustlabConvToOne: b must hold one value"));
  const int64_t B = TF_Dim(x, 0), H = TF_Dim(x, 1), W = TF_Dim(x, 2), C = TF_Dim(x, 3);
  float* y = c.out(0, {B, H, W, 1});
  if (!y) return;
  const float *xs = data(x), *ws = data(w), bias = data(b)[0];
  parallel_for(B, 1, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) conv_to_one_image(xs + i * H * W * C, ws, bias, H, W, C, y + i * H * W);
  });
}

// Images per block of the weight and bias gradients' sums (blocked_sums).
constexpr int64_t kConvImageBlock = 8;

void compute_conv_to_one_grad(void*, TF_OpKernelContext* ctx) {
  Call c(ctx);
  if (!c.ok()) return;
  TF_Tensor *dy = c.in(0), *x = c.in(1), *w = c.in(2);
  if (!check_conv_to_one(c, "RobustlabConvToOneGrad", x, w)) return;
  const int64_t B = TF_Dim(x, 0), H = TF_Dim(x, 1), W = TF_Dim(x, 2), C = TF_Dim(x, 3);
  if (TF_TensorElementCount(dy) != B * H * W) return void(c.fail("RobustlabConvToOneGrad: dy must be [B, H, W, 1]"));
  float* dx = c.out(0, {B, H, W, C});
  float* dw = c.out(1, {3, 3, C, 1});
  float* db = c.out(2, {1});
  if (!db) return;
  const float *dys = data(dy), *xs = data(x), *ws = data(w);
  const std::vector<float> sums = blocked_sums(B, kConvImageBlock, 9 * C + 1, [=](int64_t begin, int64_t end, float* s) {
    for (int64_t i = begin; i < end; ++i) conv_to_one_image_grad(dys + i * H * W, xs + i * H * W * C, ws, H, W, C, dx + i * H * W * C, s, s + 9 * C);
  });
  std::copy(sums.begin(), sums.begin() + 9 * C, dw);
  *db = sums[9 * C];
}

// Checks images [B, h, w, C] and the output size [H, W]; false with the call failed.
bool check_resize(Call& call, const char* op, TF_Tensor* x, TF_Tensor* size) {
  if (TF_NumDims(x) != 4 || TF_TensorElementCount(size) != 2 || TF_TensorType(size) != TF_INT32)
    return call.fail(std::string(op) + ": images must be [B, h, w, C] and size int32 [H, W]");
  const int32_t* hw = ids_of(size);
  if (hw[0] <= 0 || hw[1] <= 0 || TF_Dim(x, 1) <= 0 || TF_Dim(x, 2) <= 0) return call.fail(std::string(op) + ": sizes must be positive");
  return true;
}

void compute_resize_nearest(void*, TF_OpKernelContext* ctx) {
  Call c(ctx);
  if (!c.ok()) return;
  TF_Tensor *x = c.in(0), *size = c.in(1);
  if (!check_resize(c, "RobustlabResizeNearest", x, size)) return;
  const int64_t B = TF_Dim(x, 0), h = TF_Dim(x, 1), w = TF_Dim(x, 2), C = TF_Dim(x, 3), H = ids_of(size)[0], W = ids_of(size)[1];
  float* y = c.out(0, {B, H, W, C});
  if (!y) return;
  const float* xs = data(x);
  const std::vector<int64_t> rows = nearest_sources(h, H), cols = nearest_sources(w, W);
  const int64_t *rs = rows.data(), *cs = cols.data();
  parallel_for(B, 1, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) resize_nearest_image(xs + i * h * w * C, rs, cs, w, C, H, W, y + i * H * W * C);
  });
}

// Gradient: dy [B, H, W, C] and the input size [h, w] give dx [B, h, w, C].
void compute_resize_nearest_grad(void*, TF_OpKernelContext* ctx) {
  Call c(ctx);
  if (!c.ok()) return;
  TF_Tensor *dy = c.in(0), *size = c.in(1);
  if (!check_resize(c, "RobustlabResizeNearestGrad", dy, size)) return;
  const int64_t B = TF_Dim(dy, 0), H = TF_Dim(dy, 1), W = TF_Dim(dy, 2), C = TF_Dim(dy, 3), h = ids_of(size)[0], w = ids_of(size)[1];
  float* dx = c.out(0, {B, h, w, C});
  if (!dx) return;
  const float* dys = data(dy);
  const std::vector<int64_t> rows = nearest_sources(h, H), cols = nearest_sources(w, W);
  const int64_t *rs = rows.data(), *cs = cols.data();
  parallel_for(B, 1, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) resize_nearest_image_grad(dys + i * H * W * C, rs, cs, h, w, C, H, W, dx + i * h * w * C);
  });
}

void unknown_shapes(TF_ShapeInferenceContext* ctx, TF_Status* status) { TF_ShapeInferenceContextSetUnknownShape(ctx, status); }

struct OpSpec {
  const char* name;
  std::vector<const char*> inputs, outputs, attrs;
  void* (*create)(TF_OpKernelConstruction*);
  void (*compute)(void*, TF_OpKernelContext*);
  void (*destroy)(void*);
};

// Registers the ops and their CPU kernels when the binding is loaded. A failure leaves that op
// unregistered, which engine/backend/native-ops.ts's probe sees, and the engine falls back to tfjs ops.
struct Registration {
  Registration() {
    const OpSpec specs[] = {
        {"RobustlabLayerNorm", {"x: float", "gamma: float", "beta: float"}, {"y: float", "mean: float", "rstd: float"}, {"epsilon: float = 1e-5"}, create_layer_norm, compute_layer_norm, delete_with_attr<float>},
        {"RobustlabLayerNormGrad", {"dy: float", "x: float", "gamma: float", "mean: float", "rstd: float"}, {"dx: float", "dgamma: float", "dbeta: float"}, {}, create_stateless, compute_layer_norm_grad, delete_stateless},
        {"RobustlabGelu", {"x: float"}, {"y: float"}, {}, create_stateless, compute_gelu, delete_stateless},
        {"RobustlabGeluGrad", {"dy: float", "x: float"}, {"dx: float"}, {}, create_stateless, compute_gelu_grad, delete_stateless},
        {"RobustlabSparseSoftmaxCrossEntropy", {"logits: float", "labels: int32", "bias: float"}, {"loss: float", "logsumexp: float"}, {}, create_stateless, compute_cross_entropy, delete_stateless},
        {"RobustlabSparseSoftmaxCrossEntropyGrad", {"logits: float", "logsumexp: float", "labels: int32", "dloss: float", "bias: float"}, {"dlogits: float", "dbias: float"}, {}, create_stateless, compute_cross_entropy_grad, delete_stateless},
        {"RobustlabAttention", {"qkv: float", "mask: float"}, {"out: float", "probs: float"}, {"heads: int >= 1"}, create_attention, compute_attention, delete_with_attr<int32_t>},
        {"RobustlabAttentionGrad", {"dout: float", "qkv: float", "probs: float"}, {"dqkv: float"}, {"heads: int >= 1"}, create_attention, compute_attention_grad, delete_with_attr<int32_t>},
        {"RobustlabEmbed", {"ids: int32", "table: float", "positions: float"}, {"out: float"}, {}, create_stateless, compute_embed, delete_stateless},
        {"RobustlabEmbedGrad", {"dout: float", "ids: int32", "table: float", "positions: float"}, {"dtable: float", "dpositions: float"}, {}, create_stateless, compute_embed_grad, delete_stateless},
        {"RobustlabConvToOne", {"x: float", "w: float", "b: float"}, {"y: float"}, {}, create_stateless, compute_conv_to_one, delete_stateless},
        {"RobustlabConvToOneGrad", {"dy: float", "x: float", "w: float"}, {"dx: float", "dw: float", "db: float"}, {}, create_stateless, compute_conv_to_one_grad, delete_stateless},
        {"RobustlabResizeNearest", {"images: float", "size: int32"}, {"resized: float"}, {}, create_stateless, compute_resize_nearest, delete_stateless},
        {"RobustlabResizeNearestGrad", {"dy: float", "size: int32"}, {"dx: float"}, {}, create_stateless, compute_resize_nearest_grad, delete_stateless},
        {"RobustlabAdam", {"p: N * float", "m: N * float", "v: N * float", "g: N * float", "hyper: float"}, {"p_out: N * float", "m_out: N * float", "v_out: N * float"}, {"N: int >= 1"}, create_stateless, compute_adam, delete_stateless},
    };
    TF_Status* status = TF_NewStatus();
    for (const OpSpec& spec : specs) {
      TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder(spec.name);
      for (const char* s : spec.inputs) TF_OpDefinitionBuilderAddInput(op, s);
      for (const char* s : spec.outputs) TF_OpDefinitionBuilderAddOutput(op, s);
      for (const char* s : spec.attrs) TF_OpDefinitionBuilderAddAttr(op, s);
      TF_OpDefinitionBuilderSetShapeInferenceFunction(op, unknown_shapes);
      TF_RegisterOpDefinition(op, status);
      if (TF_GetCode(status) != TF_OK) continue;
      TF_KernelBuilder* kernel = TF_NewKernelBuilder(spec.name, "CPU", spec.create, spec.compute, spec.destroy);
      TF_RegisterKernelBuilder(spec.name, kernel, status);
    }
    TF_DeleteStatus(status);
  }
};

const Registration registration;

}  // namespace
