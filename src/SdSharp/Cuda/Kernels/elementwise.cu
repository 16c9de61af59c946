// SdSharp's own CUDA kernels: everything that is not a matrix product. Compiled by NVRTC once per compute
// type with SD_T = 0 (fp16), 1 (bf16) or 2 (fp32); T is the storage type, arithmetic is fp32. No CUDA headers:
// 16-bit conversions are single PTX instructions.

typedef unsigned short u16;
#if SD_T == 0
typedef u16 T;
__device__ __forceinline__ float ld(T v) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(v)); return f; }
__device__ __forceinline__ T st(float f) { T v; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(v) : "f"(f)); return v; }
#elif SD_T == 1
typedef u16 T;
__device__ __forceinline__ float ld(T v) { return __uint_as_float(((unsigned)v) << 16); }
__device__ __forceinline__ T st(float f) { T v; asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(v) : "f"(f)); return v; }
#else
typedef float T;
__device__ __forceinline__ float ld(T v) { return v; }
__device__ __forceinline__ T st(float f) { return f; }
#endif

typedef long long i64;
#define NEG_INF __int_as_float(0xff800000)

#define GRID_STRIDE(i, n) for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)gridDim.x * blockDim.x)

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + __expf(-x)); }

__device__ __forceinline__ float activation(float x, int fn)
{
    switch (fn)
    {
        case 0: return x * sigmoid(x);                                         // SiLU
        case 1: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));    // GELU (erf)
        case 2: return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
        case 3: return x * sigmoid(1.702f * x);                                // quick GELU
        case 4: return expf(x);
        case 5: return fmaxf(x, 0.0f);                                         // ReLU
        case 6: return x >= 0.0f ? x : 0.01f * x;                              // leaky ReLU
        case 7: return x > 0.0f ? x : expm1f(x);                               // ELU
        case 8: return x * fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f;          // hardswish
        case 9: return tanhf(x);
        case 10: return sigmoid(x);
        case 11: return x * tanhf(x > 20.0f ? x : log1pf(expf(x)));            // mish
        case 12: return x > 20.0f ? x : log1pf(expf(x));                       // softplus
        case 13: return x / (1.0f + fabsf(x));                                 // softsign
        case 14: return 1.0507009873554804934f * (x > 0.0f ? x : 1.6732632423543772848f * expm1f(x)); // SELU
        case 15: return fminf(fmaxf(x, 0.0f), 6.0f);                           // ReLU6
        default: return fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f;            // hardsigmoid
    }
}

extern "C" __global__ void fill(T* y, float value, i64 n)
{
    GRID_STRIDE(i, n) y[i] = st(value);
}

extern "C" __global__ void activate(const T* x, T* y, i64 n, int fn)
{
    GRID_STRIDE(i, n) y[i] = st(activation(ld(x[i]), fn));
}

// y[r, j] = x[r, j] * GELU(x[r, n + j])
extern "C" __global__ void geglu(const T* x, T* y, i64 rows, int n)
{
    GRID_STRIDE(i, rows * n)
    {
        i64 r = i / n, j = i - r * n;
        y[i] = st(ld(x[r * 2 * n + j]) * activation(ld(x[r * 2 * n + n + j]), 1));
    }
}

extern "C" __global__ void axpby(float alpha, const T* x, float beta, const T* z, T* y, i64 n)
{
    GRID_STRIDE(i, n) y[i] = st(alpha * ld(x[i]) + beta * ld(z[i]));
}

extern "C" __global__ void clamp(const T* x, float lo, float hi, T* y, i64 n)
{
    GRID_STRIDE(i, n) y[i] = st(fminf(fmaxf(ld(x[i]), lo), hi));
}

extern "C" __global__ void affine(const T* x, float scale, float shift, T* y, i64 n)
{
    GRID_STRIDE(i, n) y[i] = st(ld(x[i]) * scale + shift);
}

// How b broadcasts over a: rows of a (all dims but the last) map to rows of b through per-dim strides.
struct Broadcast
{
    int rank;            // dims of a except the last
    int outer[6];
    i64 stride[6];       // b's row offset per index of that dim (0 where b broadcasts)
    int last;            // a's last dimension
    int scalarRows;      // b's last dimension is 1
    int same;            // same shape: no index arithmetic
};

extern "C" __global__ void binary(const T* a, const T* b, T* y, i64 n, int op, Broadcast bc)
{
    GRID_STRIDE(i, n)
    {
        i64 bi = i;
        if (!bc.same)
        {
            i64 r = i / bc.last, c = i - r * bc.last, offset = 0;
            for (int d = bc.rank - 1; d >= 0; d--)
            {
                i64 index = r % bc.outer[d];
                r /= bc.outer[d];
                offset += index * bc.stride[d];
            }
            bi = offset + (bc.scalarRows ? 0 : c);
        }
        float u = ld(a[i]), v = ld(b[bi]);
        y[i] = st(op == 0 ? u + v : op == 1 ? u - v : u * v);
    }
}

// y[o·dstInner + dstOffset + j] = x[o·srcInner + srcOffset + j] for j < count: concatenation and slicing.
extern "C" __global__ void copy_blocks(const T* x, T* y, i64 outer, i64 srcInner, i64 srcOffset, i64 dstInner, i64 dstOffset, i64 count)
{
    GRID_STRIDE(i, outer * count)
    {
        i64 o = i / count, j = i - o * count;
        y[o * dstInner + dstOffset + j] = x[o * srcInner + srcOffset + j];
    }
}

extern "C" __global__ void upsample_nearest2x(const T* x, T* y, int batch, int h, int w, int c)
{
    GRID_STRIDE(i, (i64)batch * 4 * h * w * c)
    {
        i64 ch = i % c, p = i / c;
        i64 ox = p % (2 * w), rest = p / (2 * w);
        i64 oy = rest % (2 * h), b = rest / (2 * h);
        y[i] = x[((b * h + oy / 2) * w + ox / 2) * c + ch];
    }
}

// torch.nn.functional.interpolate with a target size: bilinear (align_corners=False, clamped at 0) or nearest.
extern "C" __global__ void resize(const T* x, T* y, int batch, int ih, int iw, int c, int oh, int ow, int bilinear)
{
    float sy = (float)ih / oh, sx = (float)iw / ow;
    GRID_STRIDE(i, (i64)batch * oh * ow * c)
    {
        i64 ch = i % c, p = i / c;
        int ox = (int)(p % ow);
        i64 rest = p / ow;
        int oy = (int)(rest % oh), b = (int)(rest / oh);
        const T* base = x + (i64)b * ih * iw * c + ch;
        if (!bilinear)
        {
            int yy = min((int)floorf(oy * sy), ih - 1), xx = min((int)floorf(ox * sx), iw - 1);
            y[i] = base[((i64)yy * iw + xx) * c];
            continue;
        }
        float fy = fmaxf((oy + 0.5f) * sy - 0.5f, 0.0f), fx = fmaxf((ox + 0.5f) * sx - 0.5f, 0.0f);
        int y0 = min((int)fy, ih - 1), x0 = min((int)fx, iw - 1);
        int y1 = min(y0 + 1, ih - 1), x1 = min(x0 + 1, iw - 1);
        float wy = fy - y0, wx = fx - x0;
        float top = ld(base[((i64)y0 * iw + x0) * c]) + (ld(base[((i64)y0 * iw + x1) * c]) - ld(base[((i64)y0 * iw + x0) * c])) * wx;
        float bottom = ld(base[((i64)y1 * iw + x0) * c]) + (ld(base[((i64)y1 * iw + x1) * c]) - ld(base[((i64)y1 * iw + x0) * c])) * wx;
        y[i] = st(top + (bottom - top) * wy);
    }
}

extern "C" __global__ void embedding(const T* table, const int* ids, T* y, int count, int dim)
{
    GRID_STRIDE(i, (i64)count * dim)
    {
        i64 row = i / dim, j = i - row * dim;
        y[i] = table[(i64)ids[row] * dim + j];
    }
}

// diffusers' get_timestep_embedding (max period 10000).
// The timesteps are fp32 (tF32) or the compute type.
extern "C" __global__ void timestep_embedding(const void* t, T* y, int count, int dim, int flip, float shift, int tF32)
{
    int half = dim / 2;
    GRID_STRIDE(i, (i64)count * dim)
    {
        int n = (int)(i / dim), j = (int)(i - (i64)n * dim);
        if (j >= 2 * half) { y[i] = st(0.0f); continue; }
        int k = j < half ? j : j - half;
        float time = tF32 ? ((const float*)t)[n] : ld(((const T*)t)[n]);
        float arg = time * expf(-logf(10000.0f) * k / (half - shift));
        bool first = j < half;
        y[i] = st((first != (flip != 0)) ? sinf(arg) : cosf(arg));
    }
}

// NHWC im2col: col[m, (ky·kw + kx)·c + ci] for output pixel m, matching OHWI weights.
extern "C" __global__ void im2col(const T* x, T* col, int batch, int h, int w, int c, int oh, int ow, int kh, int kw,
    int stride, int padTop, int padLeft, int circular)
{
    i64 k = (i64)kh * kw * c;
    GRID_STRIDE(i, (i64)batch * oh * ow * k)
    {
        i64 m = i / k, kk = i - m * k;
        int ci = (int)(kk % c), tap = (int)(kk / c);
        int ky = tap / kw, kx = tap - ky * kw;
        int ox = (int)(m % ow);
        i64 rest = m / ow;
        int oy = (int)(rest % oh), b = (int)(rest / oh);
        int iy = oy * stride + ky - padTop, ix = ox * stride + kx - padLeft;
        if (iy < 0 || iy >= h || ix < 0 || ix >= w)
        {
            if (!circular) { col[i] = st(0.0f); continue; }
            iy = ((iy % h) + h) % h;
            ix = ((ix % w) + w) % w;
        }
        col[i] = x[(((i64)b * h + iy) * w + ix) * c + ci];
    }
}

// ---- reductions: one block per row/group, warp shuffles then shared memory ----

__device__ __forceinline__ float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffff, v, o));
    return v;
}

__device__ float block_sum(float v, float* shared)
{
    v = warp_sum(v);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    int warps = (blockDim.x + 31) >> 5;
    v = lane < warps ? shared[lane] : 0.0f;
    if (warp == 0) v = warp_sum(v);
    if (threadIdx.x == 0) shared[0] = v;
    __syncthreads();
    return shared[0];
}

__device__ float block_max(float v, float* shared)
{
    v = warp_max(v);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    int warps = (blockDim.x + 31) >> 5;
    v = lane < warps ? shared[lane] : NEG_INF;
    if (warp == 0) v = warp_max(v);
    if (threadIdx.x == 0) shared[0] = v;
    __syncthreads();
    return shared[0];
}

// Group norm statistics of x [batch, spatial, channels] in three steps, so that every SM takes part even with
// one image and 32 groups. (1) Block (chunk, group, batch) sums its share of the group's spatial rows, shifted by
// the group's first value so that Σ(x−K)² does not cancel catastrophically when the mean is large against the
// spread: partial[((b·groups + g)·chunks + chunk)·2] = Σ(x−K), Σ(x−K)².
extern "C" __global__ void groupnorm_partial(const T* x, float* partial, int spatial, int channels, int groups, int chunks)
{
    __shared__ float shared[32];
    int chunk = blockIdx.x, g = blockIdx.y, b = blockIdx.z, per = channels / groups;
    const T* base = x + (i64)b * spatial * channels + (i64)g * per;
    float shift = ld(base[0]);
    int rows = (spatial + chunks - 1) / chunks, s0 = chunk * rows, s1 = min(spatial, s0 + rows);
    int count = max(0, s1 - s0) * per;
    float sum = 0.0f, squares = 0.0f;
    for (int e = threadIdx.x; e < count; e += blockDim.x)
    {
        int s = e / per;
        float d = ld(base[(i64)(s0 + s) * channels + (e - s * per)]) - shift;
        sum += d;
        squares += d * d;
    }
    sum = block_sum(sum, shared);
    squares = block_sum(squares, shared);
    if (threadIdx.x == 0)
    {
        float* out = partial + (((i64)b * groups + g) * chunks + chunk) * 2;
        out[0] = sum;
        out[1] = squares;
    }
}

// (2) One thread per (batch, group): stats[(b·groups + g)·2] = mean, 1/√(var + eps).
extern "C" __global__ void groupnorm_finalize(const T* x, const float* partial, float* stats, int spatial, int channels, int groups,
    int chunks, int pairs, float eps)
{
    GRID_STRIDE(i, pairs)
    {
        int b = (int)(i / groups), g = (int)(i - (i64)b * groups), per = channels / groups;
        float shift = ld(x[(i64)b * spatial * channels + (i64)g * per]);
        float sum = 0.0f, squares = 0.0f;
        for (int c = 0; c < chunks; c++)
        {
            sum += partial[(i * chunks + c) * 2];
            squares += partial[(i * chunks + c) * 2 + 1];
        }
        float count = (float)spatial * per, m = sum / count;
        stats[i * 2] = shift + m;
        stats[i * 2 + 1] = rsqrtf(fmaxf(squares / count - m * m, 0.0f) + eps);
    }
}

// (3) Normalise (+ SiLU); 32-bit index arithmetic (the caller keeps n below 2³¹).
extern "C" __global__ void groupnorm_apply(const T* x, T* y, const float* stats, const T* gamma, const T* beta,
    int n, int spatial, int channels, int groups, int silu)
{
    int per = channels / groups, image = spatial * channels;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    {
        int b = i / image, c = (i - b * image) % channels;
        const float* s = stats + (b * groups + c / per) * 2;
        float v = (ld(x[i]) - s[0]) * s[1] * ld(gamma[c]) + ld(beta[c]);
        y[i] = st(silu ? v * sigmoid(v) : v);
    }
}

struct __align__(16) Vec16 { T e[16 / sizeof(T)]; };
#define LN_VEC ((int)(16 / sizeof(T)))
#define LN_VECTORS 8   // 16-byte vectors per lane held in registers: rows up to 32·8·LN_VEC wide (2048 in 16 bits)

// Layer norm: one warp per row. SD's rows are 320–2048 wide: a block per row left most of its threads idle and
// paid block-wide barriers twice per row. Rows that fit are read once, in 16-byte vectors kept in registers;
// others (or unaligned ones) are read three times, element by element, from L1 after the first.
extern "C" __global__ void layernorm(const T* x, T* y, const T* gamma, const T* beta, i64 rows, int channels, float eps, int hasBeta)
{
    const int lane = threadIdx.x & 31, warpsPerBlock = blockDim.x >> 5;
    const bool aligned = (((unsigned long long)x | (unsigned long long)y | (unsigned long long)gamma | (unsigned long long)(hasBeta ? beta : gamma)) & 15) == 0;
    const bool vectors = aligned && channels % LN_VEC == 0 && channels <= 32 * LN_VECTORS * LN_VEC;
    for (i64 r = (i64)blockIdx.x * warpsPerBlock + (threadIdx.x >> 5); r < rows; r += (i64)gridDim.x * warpsPerBlock)
    {
        const T* xr = x + r * channels;
        T* yr = y + r * channels;
        if (vectors)
        {
            float v[LN_VECTORS][LN_VEC];
            float sum = 0.0f;
#pragma unroll
            for (int i = 0; i < LN_VECTORS; i++)
            {
                int c = (i * 32 + lane) * LN_VEC;
                Vec16 raw = c < channels ? *(const Vec16*)(xr + c) : Vec16{};
#pragma unroll
                for (int e = 0; e < LN_VEC; e++) { v[i][e] = c < channels ? ld(raw.e[e]) : 0.0f; sum += v[i][e]; }
            }
            float mean = warp_sum(sum) / channels, squares = 0.0f;
#pragma unroll
            for (int i = 0; i < LN_VECTORS; i++)
                if ((i * 32 + lane) * LN_VEC < channels)
#pragma unroll
                    for (int e = 0; e < LN_VEC; e++) { float d = v[i][e] - mean; squares += d * d; }
            float rstd = rsqrtf(warp_sum(squares) / channels + eps);
#pragma unroll
            for (int i = 0; i < LN_VECTORS; i++)
            {
                int c = (i * 32 + lane) * LN_VEC;
                if (c >= channels) continue;
                Vec16 g = *(const Vec16*)(gamma + c), out;
                Vec16 b = hasBeta ? *(const Vec16*)(beta + c) : Vec16{};
#pragma unroll
                for (int e = 0; e < LN_VEC; e++) out.e[e] = st((v[i][e] - mean) * rstd * ld(g.e[e]) + (hasBeta ? ld(b.e[e]) : 0.0f));
                *(Vec16*)(yr + c) = out;
            }
            continue;
        }
        float sum = 0.0f;
        for (int c = lane; c < channels; c += 32) sum += ld(xr[c]);
        float mean = warp_sum(sum) / channels;
        float squares = 0.0f;
        for (int c = lane; c < channels; c += 32) { float d = ld(xr[c]) - mean; squares += d * d; }
        float rstd = rsqrtf(warp_sum(squares) / channels + eps);
        for (int c = lane; c < channels; c += 32)
            yr[c] = st((ld(xr[c]) - mean) * rstd * ld(gamma[c]) + (hasBeta ? ld(beta[c]) : 0.0f));
    }
}

// Softmax of fp32 score rows into T probabilities; row r is query (r mod queries); causal masks keys j > query.
extern "C" __global__ void softmax_rows(const float* scores, T* probs, i64 rows, int cols, int queries, int causal)
{
    __shared__ float shared[32];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const float* s = scores + r * cols;
        int valid = causal ? min(cols, (int)(r % queries) + 1) : cols;
        float m = NEG_INF;
        for (int j = threadIdx.x; j < valid; j += blockDim.x) m = fmaxf(m, s[j]);
        m = block_max(m, shared);
        float sum = 0.0f;
        for (int j = threadIdx.x; j < valid; j += blockDim.x) sum += __expf(s[j] - m);
        float inv = 1.0f / block_sum(sum, shared);
        for (int j = threadIdx.x; j < cols; j += blockDim.x)
            probs[r * cols + j] = st(j < valid ? __expf(s[j] - m) * inv : 0.0f);
    }
}
