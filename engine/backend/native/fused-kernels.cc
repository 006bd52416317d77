// robustlab's fused CPU kernels, registered into TensorFlow through its C kernel API when the tfjs-node
// binding that scripts/setup-native.mjs builds is loaded (this file is compiled into that binding).
//
// Why: the pip TensorFlow is compiled for baseline x86-64, so its Eigen element-wise kernels run SSE
// code, one pass over memory per op; a transformer layer norm is 9 such passes forward and 12 backward.
// Each kernel here is one or two passes, compiled for x86-64-v4 (AVX-512), v3 (AVX2) and baseline,
// chosen at load time by the CPU (GCC target_clones; reductions vectorised by `omp simd`). Built with
// -fopenmp-simd, -fno-trapping-math (the clamps in fast_exp vectorise), -fno-math-errno (so does sqrt)
// and -ffp-contract=off (no FMA: Adam matches the tfjs formula bit for bit). engine/backend/fused-kernels.ts
// probes for them; the engine falls back to the tfjs compositions (engine/ops/layer-norm.ts, gelu.ts,
// sparse-cross-entropy.ts, attention.ts, adam.ts) where they are absent, and the tests check both agree.
//
// Ops (float32; "rows" = every axis but the last):
//   RobustlabLayerNorm(x[..., d], gamma[d], beta[d]; epsilon) -> y, mean[rows], rstd[rows]
//   RobustlabLayerNormGrad(dy, x, gamma, mean, rstd) -> dx, dgamma[d], dbeta[d]
//   RobustlabGelu(x) -> x * sigmoid(1.702 x);  RobustlabGeluGrad(dy, x) -> dx
//   RobustlabSparseSoftmaxCrossEntropy(logits[n, c], labels int32[n]) -> loss[n], logsumexp[n]
//   RobustlabSparseSoftmaxCrossEntropyGrad(logits, logsumexp, labels, dloss[n]) -> dlogits[n, c]
//   RobustlabAttention(qkv[B*L, 3d], mask[B, L]; heads) -> out[B*L, d], probs[B, heads, L, L]
//     multi-head self-attention softmax(q k^T / sqrt(d / heads) + mask) v straight from the fused
//     q|k|v projection (row b*L + t, columns [q | k | v], head h at columns h*hd..), no split or transpose
//   RobustlabAttentionGrad(dout, qkv, probs; heads) -> dqkv[B*L, 3d]
//   RobustlabEmbed(ids int32[B, L], table[V, d], positions[P, d]) -> table[ids] + positions[t] as [B*L, d]
//   RobustlabEmbedGrad(dout[B*L, d], ids, table, positions) -> dtable[V, d], dpositions[P, d]
//     (table and positions are read for their shapes only)
//   RobustlabAdam(p: N tensors, m: N, v: N, g: N, hyper[4] = lr_t, beta1, beta2, epsilon) -> p, m, v (N each)
//     one Adam step of every parameter in one call, in TensorFlow's formulation (as ResourceApplyAdam
//     with zero beta powers) and without FMA contraction, so bit-identical to engine/models/adam.ts's tfjs ops
// The cross-entropy and attention kernels split their rows or (batch, head) pairs over
// TF_NUM_INTRAOP_THREADS threads (default: the machine's cores).
#include <algorithm>
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

ROBUSTLAB_CLONES
float row_max(const float* z, int64_t c) {
  float m = z[0];
#pragma omp simd reduction(max : m)
  for (int64_t j = 1; j < c; ++j) m = z[j] > m ? z[j] : m;
  return m;
}

ROBUSTLAB_CLONES
float row_sum_exp(const float* z, int64_t c, float shift) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < c; ++j) s += fast_exp(z[j] - shift);
  return s;
}

ROBUSTLAB_CLONES
void row_softmax_scaled(const float* z, int64_t c, float lse, float scale, float* out) {
#pragma omp simd
  for (int64_t j = 0; j < c; ++j) out[j] = fast_exp(z[j] - lse) * scale;
}

// out[0, n) = sum over k < count of a[k] * rows[k * row_stride + (0, n)]: a vector times a row-major matrix.
__attribute__((always_inline)) inline void combine_rows(const float* a, int64_t count, const float* rows, int64_t row_stride, int64_t n, float* out) {
#pragma omp simd
  for (int64_t c = 0; c < n; ++c) out[c] = 0.0f;
  for (int64_t k = 0; k < count; ++k) {
    const float ak = a[k];
    const float* row = rows + k * row_stride;
#pragma omp simd
    for (int64_t c = 0; c < n; ++c) out[c] += ak * row[c];
  }
}

// One (batch, head) of attention. q, k, v point at the head's first column in rows of `stride` floats;
// out at the head's first column in rows of `out_stride`; probs [L, L]; kt: scratch of hd * L floats.
ROBUSTLAB_CLONES
void attention_head(const float* q, const float* k, const float* v, int64_t stride, const float* mask, int64_t L, int64_t hd,
                    float scale, float* out, int64_t out_stride, float* probs, float* kt) {
  for (int64_t j = 0; j < L; ++j)
    for (int64_t c = 0; c < hd; ++c) kt[c * L + j] = k[j * stride + c];
  for (int64_t i = 0; i < L; ++i) {
    float* p = probs + i * L;
#pragma omp simd
    for (int64_t j = 0; j < L; ++j) p[j] = mask[j];
    for (int64_t c = 0; c < hd; ++c) {
      const float qc = q[i * stride + c] * scale;
      const float* ktc = kt + c * L;
#pragma omp simd
      for (int64_t j = 0; j < L; ++j) p[j] += qc * ktc[j];
    }
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
    combine_rows(p, L, v, stride, hd, out + i * out_stride);  // O_i = P_i V
  }
}

// Its gradient: dq, dk, dv as q, k, v (the head's columns of dqkv); dout as out; vt, ds: scratch of
// hd * L and L floats.
ROBUSTLAB_CLONES
void attention_head_grad(const float* dout, int64_t out_stride, const float* q, const float* k, const float* v, int64_t stride,
                         const float* probs, int64_t L, int64_t hd, float scale, float* dq, float* dk, float* dv, float* vt, float* ds) {
  for (int64_t j = 0; j < L; ++j) {
    for (int64_t c = 0; c < hd; ++c) {
      vt[c * L + j] = v[j * stride + c];
      dq[j * stride + c] = dk[j * stride + c] = dv[j * stride + c] = 0.0f;
    }
  }
  for (int64_t i = 0; i < L; ++i) {
    const float* p = probs + i * L;
    const float* doi = dout + i * out_stride;
    // dP_i = dO_i V^T, then dS_i = P_i * (dP_i - <P_i, dP_i>) * scale.
    combine_rows(doi, hd, vt, L, L, ds);
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int64_t j = 0; j < L; ++j) dot += p[j] * ds[j];
#pragma omp simd
    for (int64_t j = 0; j < L; ++j) ds[j] = p[j] * (ds[j] - dot) * scale;
    const float* qi = q + i * stride;
    float* dqi = dq + i * stride;
    for (int64_t j = 0; j < L; ++j) {
      const float pij = p[j], sij = ds[j];
      const float* kj = k + j * stride;
      float* dkj = dk + j * stride;
      float* dvj = dv + j * stride;
#pragma omp simd
      for (int64_t c = 0; c < hd; ++c) {
        dvj[c] += pij * doi[c];
        dqi[c] += sij * kj[c];
        dkj[c] += sij * qi[c];
      }
    }
  }
}

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

// body(begin, end) over [0, n) in contiguous chunks of at least `grain`, on up to thread_budget() threads
// (the caller's among them). Chunks write disjoint outputs.
template <typename Body>
void parallel_for(int64_t n, int64_t grain, Body body) {
  const int64_t threads = std::min<int64_t>(thread_budget(), std::max<int64_t>(1, n / std::max<int64_t>(1, grain)));
  if (threads <= 1) return body(int64_t{0}, n);
  const int64_t chunk = (n + threads - 1) / threads;
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < threads; ++t) pool.emplace_back(body, std::min(n, t * chunk), std::min(n, (t + 1) * chunk));
  body(int64_t{0}, std::min(n, chunk));
  for (std::thread& th : pool) th.join();
}

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
  if (rstd) layer_norm_rows(data(x), data(g), data(b), *static_cast<float*>(kernel), rows, d, y, mean, rstd);
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
  if (db) layer_norm_grad_rows(data(dy), data(x), data(g), data(mean), data(rstd), rows, d, dx, dg, db);
}

void compute_gelu(void*, TF_OpKernelContext* ctx) {
  Call c(ctx);
  if (!c.ok()) return;
  TF_Tensor* x = c.in(0);
  if (float* y = c.out(0, dims_of(x))) gelu(data(x), TF_TensorElementCount(x), y);
}

void compute_gelu_grad(void*, TF_OpKernelContext* ctx) {
  Call c(ctx);
  if (!c.ok()) return;
  TF_Tensor *dy = c.in(0), *x = c.in(1);
  if (TF_TensorElementCount(dy) != TF_TensorElementCount(x)) return void(c.fail("RobustlabGeluGrad: dy and x differ in size"));
  if (float* dx = c.out(0, dims_of(x))) gelu_grad(data(dy), data(x), TF_TensorElementCount(x), dx);
}

// Checks logits [n, c] and labels [n] in [0, c); false with the call failed.
bool check_cross_entropy(Call& call, const char* op, TF_Tensor* logits, TF_Tensor* labels) {
  if (TF_NumDims(logits) != 2 || TF_NumDims(labels) != 1 || TF_Dim(labels, 0) != TF_Dim(logits, 0) || TF_Dim(logits, 1) == 0)
    return call.fail(std::string(op) + ": logits must be [n, c] with c > 0 and labels [n]");
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
  TF_Tensor *logits = call.in(0), *labels = call.in(1);
  if (!check_cross_entropy(call, "RobustlabSparseSoftmaxCrossEntropy", logits, labels)) return;
  const int64_t n = TF_Dim(logits, 0), c = TF_Dim(logits, 1);
  float* loss = call.out(0, {n});
  float* lse = call.out(1, {n});
  if (!lse) return;
  const float* z = data(logits);
  const int32_t* y = ids_of(labels);
  parallel_for(n, 64, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float* zi = z + i * c;
      const float m = row_max(zi, c);
      const float l = m + std::log(row_sum_exp(zi, c, m));
      lse[i] = l;
      loss[i] = l - zi[y[i]];
    }
  });
}

void compute_cross_entropy_grad(void*, TF_OpKernelContext* ctx) {
  Call call(ctx);
  if (!call.ok()) return;
  TF_Tensor *logits = call.in(0), *lse = call.in(1), *labels = call.in(2), *dloss = call.in(3);
  if (!check_cross_entropy(call, "RobustlabSparseSoftmaxCrossEntropyGrad", logits, labels)) return;
  const int64_t n = TF_Dim(logits, 0), c = TF_Dim(logits, 1);
  if (TF_TensorElementCount(lse) != n || TF_TensorElementCount(dloss) != n) return void(call.fail("RobustlabSparseSoftmaxCrossEntropyGrad: logsumexp and dloss must be [n]"));
  float* out = call.out(0, {n, c});
  if (!out) return;
  const int32_t* y = ids_of(labels);
  const float *z = data(logits), *l = data(lse), *g = data(dloss);
  parallel_for(n, 64, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      row_softmax_scaled(z + i * c, c, l[i], g[i], out + i * c);
      out[i * c + y[i]] -= g[i];
    }
  });
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
    std::vector<float> vt(s.hd * s.L), ds(s.L);
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t b = bh / s.heads, h = bh % s.heads;
      const int64_t offset = b * s.L * 3 * s.d + h * s.hd;
      const float* rows = x + offset;
      float* drows = dx + offset;
      attention_head_grad(dy + b * s.L * s.d + h * s.hd, s.d, rows, rows + s.d, rows + 2 * s.d, 3 * s.d, p + bh * s.L * s.L, s.L, s.hd, scale,
                          drows, drows + s.d, drows + 2 * s.d, vt.data(), ds.data());
    }
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
        {"RobustlabSparseSoftmaxCrossEntropy", {"logits: float", "labels: int32"}, {"loss: float", "logsumexp: float"}, {}, create_stateless, compute_cross_entropy, delete_stateless},
        {"RobustlabSparseSoftmaxCrossEntropyGrad", {"logits: float", "logsumexp: float", "labels: int32", "dloss: float"}, {"dlogits: float"}, {}, create_stateless, compute_cross_entropy_grad, delete_stateless},
        {"RobustlabAttention", {"qkv: float", "mask: float"}, {"out: float", "probs: float"}, {"heads: int >= 1"}, create_attention, compute_attention, delete_with_attr<int32_t>},
        {"RobustlabAttentionGrad", {"dout: float", "qkv: float", "probs: float"}, {"dqkv: float"}, {"heads: int >= 1"}, create_attention, compute_attention_grad, delete_with_attr<int32_t>},
        {"RobustlabEmbed", {"ids: int32", "table: float", "positions: float"}, {"out: float"}, {}, create_stateless, compute_embed, delete_stateless},
        {"RobustlabEmbedGrad", {"dout: float", "ids: int32", "table: float", "positions: float"}, {"dtable: float", "dpositions: float"}, {}, create_stateless, compute_embed_grad, delete_stateless},
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
