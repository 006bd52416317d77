// robustlab's fused CPU kernels, registered into TensorFlow through its C kernel API when the tfjs-node
// binding that scripts/setup-native.mjs builds is loaded (this file is compiled into that binding).
//
// Why: the pip TensorFlow is compiled for baseline x86-64, so its Eigen element-wise kernels run SSE
// code, one pass over memory per op; a transformer layer norm is 9 such passes forward and 12 backward.
// Each kernel here is one or two passes, compiled for x86-64-v4 (AVX-512), v3 (AVX2+FMA) and baseline,
// chosen at load time by the CPU (GCC target_clones; reductions vectorised by `omp simd`; built with -fopenmp-simd and
// -fno-trapping-math, which lets the clamps in fast_exp vectorise). engine/fused-kernels.ts probes for
// them; the engine falls back to the tfjs compositions (engine/layer-norm.ts, gelu.ts,
// sparse-cross-entropy.ts) where they are absent, and the tests check both agree, values and gradients.
//
// Ops (float32; "rows" = every axis but the last):
//   RobustlabLayerNorm(x[..., d], gamma[d], beta[d]; epsilon) -> y, mean[rows], rstd[rows]
//   RobustlabLayerNormGrad(dy, x, gamma, mean, rstd) -> dx, dgamma[d], dbeta[d]
//   RobustlabGelu(x) -> x * sigmoid(1.702 x);  RobustlabGeluGrad(dy, x) -> dx
//   RobustlabSparseSoftmaxCrossEntropy(logits[n, c], labels int32[n]) -> loss[n], logsumexp[n]
//   RobustlabSparseSoftmaxCrossEntropyGrad(logits, logsumexp, labels, dloss[n]) -> dlogits[n, c]
#include <cmath>
#include <cstdint>
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
void TF_GetInput(TF_OpKernelContext* ctx, int i, TF_Tensor** tensor, TF_Status* status);
TF_Tensor* TF_AllocateOutput(TF_OpKernelContext* context, int index, TF_DataType dtype, const int64_t* dims, int num_dims, size_t len, TF_Status* status);
void TF_OpKernelContext_Failure(TF_OpKernelContext* ctx, TF_Status* status);
void TF_OpKernelConstruction_Failure(TF_OpKernelConstruction* ctx, TF_Status* status);
void TF_OpKernelConstruction_GetAttrFloat(TF_OpKernelConstruction* ctx, const char* attr_name, float* val, TF_Status* status);
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

// ---- TensorFlow plumbing ----

// Inputs of one kernel call, released when the call ends.
class Inputs {
 public:
  Inputs(TF_OpKernelContext* ctx, TF_Status* status) : ctx_(ctx), status_(status) {}
  ~Inputs() {
    for (TF_Tensor* t : held_) TF_DeleteTensor(t);
  }
  TF_Tensor* get(int i) {
    TF_Tensor* t = nullptr;
    TF_GetInput(ctx_, i, &t, status_);
    if (TF_GetCode(status_) != TF_OK) return nullptr;
    held_.push_back(t);
    return t;
  }

 private:
  TF_OpKernelContext* ctx_;
  TF_Status* status_;
  std::vector<TF_Tensor*> held_;
};

std::vector<int64_t> dims_of(const TF_Tensor* t) {
  std::vector<int64_t> dims(TF_NumDims(t));
  for (size_t i = 0; i < dims.size(); ++i) dims[i] = TF_Dim(t, static_cast<int>(i));
  return dims;
}

int64_t last_dim(const TF_Tensor* t) { return TF_NumDims(t) == 0 ? 1 : TF_Dim(t, TF_NumDims(t) - 1); }

float* data(TF_Tensor* t) { return static_cast<float*>(TF_TensorData(t)); }

// Output i with the given dims; null (and status set) on failure.
TF_Tensor* output(TF_OpKernelContext* ctx, int i, const std::vector<int64_t>& dims, TF_Status* status) {
  int64_t n = 1;
  for (int64_t v : dims) n *= v;
  return TF_AllocateOutput(ctx, i, TF_FLOAT, dims.data(), static_cast<int>(dims.size()), n * sizeof(float), status);
}

void fail(TF_OpKernelContext* ctx, TF_Status* status, const std::string& message) {
  TF_SetStatus(status, TF_INVALID_ARGUMENT, message.c_str());
  TF_OpKernelContext_Failure(ctx, status);
}

// Runs body(ctx, status) and reports a failed status to TensorFlow.
template <typename Body>
void compute(TF_OpKernelContext* ctx, Body body) {
  TF_Status* status = TF_NewStatus();
  body(ctx, status);
  if (TF_GetCode(status) != TF_OK) TF_OpKernelContext_Failure(ctx, status);
  TF_DeleteStatus(status);
}

struct LayerNormKernel {
  float epsilon;
};

void* create_layer_norm(TF_OpKernelConstruction* construction) {
  auto* kernel = new LayerNormKernel{1e-5f};
  TF_Status* status = TF_NewStatus();
  TF_OpKernelConstruction_GetAttrFloat(construction, "epsilon", &kernel->epsilon, status);
  if (TF_GetCode(status) != TF_OK) TF_OpKernelConstruction_Failure(construction, status);
  TF_DeleteStatus(status);
  return kernel;
}

void delete_layer_norm(void* kernel) { delete static_cast<LayerNormKernel*>(kernel); }

void* create_stateless(TF_OpKernelConstruction*) { return nullptr; }
void delete_stateless(void*) {}

void compute_layer_norm(void* kernel, TF_OpKernelContext* ctx) {
  compute(ctx, [&](TF_OpKernelContext* ctx, TF_Status* status) {
    Inputs in(ctx, status);
    TF_Tensor *x = in.get(0), *g = x ? in.get(1) : nullptr, *b = g ? in.get(2) : nullptr;
    if (!b) return;
    const int64_t d = last_dim(x), rows = d == 0 ? 0 : TF_TensorElementCount(x) / d;
    if (TF_TensorElementCount(g) != d || TF_TensorElementCount(b) != d) return fail(ctx, status, "RobustlabLayerNorm: gamma and beta must have the size of x's last axis");
    TF_Tensor* y = output(ctx, 0, dims_of(x), status);
    TF_Tensor* mean = y ? output(ctx, 1, {rows}, status) : nullptr;
    TF_Tensor* rstd = mean ? output(ctx, 2, {rows}, status) : nullptr;
    if (rstd) layer_norm_rows(data(x), data(g), data(b), static_cast<LayerNormKernel*>(kernel)->epsilon, rows, d, data(y), data(mean), data(rstd));
    for (TF_Tensor* t : {y, mean, rstd}) if (t) TF_DeleteTensor(t);
  });
}

void compute_layer_norm_grad(void*, TF_OpKernelContext* ctx) {
  compute(ctx, [&](TF_OpKernelContext* ctx, TF_Status* status) {
    Inputs in(ctx, status);
    TF_Tensor* t[5];
    for (int i = 0; i < 5; ++i) if (!(t[i] = in.get(i))) return;
    TF_Tensor *dy = t[0], *x = t[1], *g = t[2], *mean = t[3], *rstd = t[4];
    const int64_t d = last_dim(x), rows = d == 0 ? 0 : TF_TensorElementCount(x) / d;
    if (TF_TensorElementCount(dy) != rows * d || TF_TensorElementCount(g) != d || TF_TensorElementCount(mean) != rows || TF_TensorElementCount(rstd) != rows)
      return fail(ctx, status, "RobustlabLayerNormGrad: inconsistent shapes");
    TF_Tensor* dx = output(ctx, 0, dims_of(x), status);
    TF_Tensor* dg = dx ? output(ctx, 1, {d}, status) : nullptr;
    TF_Tensor* db = dg ? output(ctx, 2, {d}, status) : nullptr;
    if (db) layer_norm_grad_rows(data(dy), data(x), data(g), data(mean), data(rstd), rows, d, data(dx), data(dg), data(db));
    for (TF_Tensor* o : {dx, dg, db}) if (o) TF_DeleteTensor(o);
  });
}

void compute_gelu(void*, TF_OpKernelContext* ctx) {
  compute(ctx, [&](TF_OpKernelContext* ctx, TF_Status* status) {
    Inputs in(ctx, status);
    TF_Tensor* x = in.get(0);
    if (!x) return;
    TF_Tensor* y = output(ctx, 0, dims_of(x), status);
    if (!y) return;
    gelu(data(x), TF_TensorElementCount(x), data(y));
    TF_DeleteTensor(y);
  });
}

void compute_gelu_grad(void*, TF_OpKernelContext* ctx) {
  compute(ctx, [&](TF_OpKernelContext* ctx, TF_Status* status) {
    Inputs in(ctx, status);
    TF_Tensor *dy = in.get(0), *x = dy ? in.get(1) : nullptr;
    if (!x) return;
    if (TF_TensorElementCount(dy) != TF_TensorElementCount(x)) return fail(ctx, status, "RobustlabGeluGrad: dy and x differ in size");
    TF_Tensor* dx = output(ctx, 0, dims_of(x), status);
    if (!dx) return;
    gelu_grad(data(dy), data(x), TF_TensorElementCount(x), data(dx));
    TF_DeleteTensor(dx);
  });
}

// Checks logits [n, c] and labels [n] in [0, c); returns false with the failure reported.
bool check_cross_entropy(TF_OpKernelContext* ctx, TF_Status* status, const char* op, TF_Tensor* logits, TF_Tensor* labels) {
  if (TF_NumDims(logits) != 2 || TF_NumDims(labels) != 1 || TF_Dim(labels, 0) != TF_Dim(logits, 0) || TF_Dim(logits, 1) == 0) {
    fail(ctx, status, std::string(op) + ": logits must be [n, c] with c > 0 and labels [n]");
    return false;
  }
  const int64_t n = TF_Dim(logits, 0), c = TF_Dim(logits, 1);
  const int32_t* y = static_cast<const int32_t*>(TF_TensorData(labels));
  for (int64_t i = 0; i < n; ++i) {
    if (y[i] < 0 || y[i] >= c) {
      fail(ctx, status, std::string(op) + ": label " + std::to_string(y[i]) + " at row " + std::to_string(i) + " is outside [0, " + std::to_string(c) + ")");
      return false;
    }
  }
  return true;
}

void compute_cross_entropy(void*, TF_OpKernelContext* ctx) {
  compute(ctx, [&](TF_OpKernelContext* ctx, TF_Status* status) {
    Inputs in(ctx, status);
    TF_Tensor *logits = in.get(0), *labels = logits ? in.get(1) : nullptr;
    if (!labels || !check_cross_entropy(ctx, status, "RobustlabSparseSoftmaxCrossEntropy", logits, labels)) return;
    const int64_t n = TF_Dim(logits, 0), c = TF_Dim(logits, 1);
    TF_Tensor* loss = output(ctx, 0, {n}, status);
    TF_Tensor* lse = loss ? output(ctx, 1, {n}, status) : nullptr;
    if (lse) {
      const float* z = data(logits);
      const int32_t* y = static_cast<const int32_t*>(TF_TensorData(labels));
      for (int64_t i = 0; i < n; ++i) {
        const float* zi = z + i * c;
        const float m = row_max(zi, c);
        const float l = m + std::log(row_sum_exp(zi, c, m));
        data(lse)[i] = l;
        data(loss)[i] = l - zi[y[i]];
      }
    }
    for (TF_Tensor* o : {loss, lse}) if (o) TF_DeleteTensor(o);
  });
}

void compute_cross_entropy_grad(void*, TF_OpKernelContext* ctx) {
  compute(ctx, [&](TF_OpKernelContext* ctx, TF_Status* status) {
    Inputs in(ctx, status);
    TF_Tensor* t[4];
    for (int i = 0; i < 4; ++i) if (!(t[i] = in.get(i))) return;
    TF_Tensor *logits = t[0], *lse = t[1], *labels = t[2], *dloss = t[3];
    if (!check_cross_entropy(ctx, status, "RobustlabSparseSoftmaxCrossEntropyGrad", logits, labels)) return;
    const int64_t n = TF_Dim(logits, 0), c = TF_Dim(logits, 1);
    if (TF_TensorElementCount(lse) != n || TF_TensorElementCount(dloss) != n) return fail(ctx, status, "RobustlabSparseSoftmaxCrossEntropyGrad: logsumexp and dloss must be [n]");
    TF_Tensor* dz = output(ctx, 0, {n, c}, status);
    if (!dz) return;
    const int32_t* y = static_cast<const int32_t*>(TF_TensorData(labels));
    for (int64_t i = 0; i < n; ++i) {
      float* out = data(dz) + i * c;
      row_softmax_scaled(data(logits) + i * c, c, data(lse)[i], data(dloss)[i], out);
      out[y[i]] -= data(dloss)[i];
    }
    TF_DeleteTensor(dz);
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
// unregistered, which engine/native-ops.ts's probe sees, and the engine falls back to tfjs ops.
struct Registration {
  Registration() {
    const OpSpec specs[] = {
        {"RobustlabLayerNorm", {"x: float", "gamma: float", "beta: float"}, {"y: float", "mean: float", "rstd: float"}, {"epsilon: float = 1e-5"}, create_layer_norm, compute_layer_norm, delete_layer_norm},
        {"RobustlabLayerNormGrad", {"dy: float", "x: float", "gamma: float", "mean: float", "rstd: float"}, {"dx: float", "dgamma: float", "dbeta: float"}, {}, create_stateless, compute_layer_norm_grad, delete_stateless},
        {"RobustlabGelu", {"x: float"}, {"y: float"}, {}, create_stateless, compute_gelu, delete_stateless},
        {"RobustlabGeluGrad", {"dy: float", "x: float"}, {"dx: float"}, {}, create_stateless, compute_gelu_grad, delete_stateless},
        {"RobustlabSparseSoftmaxCrossEntropy", {"logits: float", "labels: int32"}, {"loss: float", "logsumexp: float"}, {}, create_stateless, compute_cross_entropy, delete_stateless},
        {"RobustlabSparseSoftmaxCrossEntropyGrad", {"logits: float", "logsumexp: float", "labels: int32", "dloss: float"}, {"dlogits: float"}, {}, create_stateless, compute_cross_entropy_grad, delete_stateless},
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
