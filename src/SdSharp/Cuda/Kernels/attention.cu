// Fused scaled-dot-product attention for 16-bit compute types (FlashAttention-2's scheme): each warp owns 16
// query rows, walks the keys in tiles of 64 with an online softmax, and never writes the score matrix to memory.
// Products run on the tensor cores through mma.sync m16n8k16 (fp16 or bf16 in, fp32 accumulate), so no CUDA
// headers are needed. Compiled by NVRTC with SD_T = 0 (fp16) or 1 (bf16); fp32 keeps the cuBLASLt path.
//
// Layouts: q [batch, lq, heads·d], k and v [batch, lk, heads·d], head h in columns h·d … h·d+d−1 (the rows of
// every tensor are `stride` elements apart). The head dimension is padded with zeros to DP, a multiple of 16.

typedef unsigned short u16;
typedef unsigned int u32;

#if SD_T == 0
#define MMA "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"
__device__ __forceinline__ u32 pack(float lo, float hi) { u32 r; asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo)); return r; }
__device__ __forceinline__ u16 st(float f) { u16 v; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(v) : "f"(f)); return v; }
#else
#define MMA "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"
__device__ __forceinline__ u32 pack(float lo, float hi) { u32 r; asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo)); return r; }
__device__ __forceinline__ u16 st(float f) { u16 v; asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(v) : "f"(f)); return v; }
#endif

#define NEG_INF __int_as_float(0xff800000)
#define KEYS 64      // keys per tile
#define WARPS 4      // 16 query rows each: 64 queries per block
#define KPAD 8       // row padding of the shared tiles, so a warp's 32-bit fragment reads hit 32 distinct banks

// d[0..3] += a (16×16, row-major fragment) · b (16×8, column-major fragment)
__device__ __forceinline__ void mma(float* d, const u32* a, u32 b0, u32 b1)
{
    asm volatile(MMA " {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ u32 shared_address(const void* p)
{
    u32 address;
    asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(address) : "l"(p));
    return address;
}

// Four (or two) 8×8 blocks of 16-bit values from shared memory, each thread getting row lane/4, columns
// 2·(lane%4) and the next of each: with keys as rows and head dimensions as columns, the B fragments of Kᵀ.
// Lanes 8i … 8i+7 name the rows of block i.
__device__ __forceinline__ void ldmatrix_x4(u32* r, const u16* row)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(shared_address(row)));
}

__device__ __forceinline__ void ldmatrix_x2(u32* r, const u16* row)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];" : "=r"(r[0]), "=r"(r[1]) : "r"(shared_address(row)));
}

// Two 8×8 blocks of 16-bit values from shared memory, transposed: the B fragments of two adjacent n-tiles when
// the rows given are keys and the columns head dimensions (lanes 0–15 name rows of the first, 16–31 of the second).
__device__ __forceinline__ void ldmatrix_x4_trans(u32* r, const u16* row)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(shared_address(row)));
}

// 16 bytes from global to shared memory without passing through registers (zeros when !inside); the copies a
// thread issued are waited for per commit group, so the next tile loads while this one is computed on.
__device__ __forceinline__ void copy_async16(u16* shared, const u16* global, bool inside)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"(shared_address(shared)), "l"(global), "r"(inside ? 16 : 0));
}
__device__ __forceinline__ void copy_async_commit() { asm volatile("cp.async.commit_group;"); }
template <int PENDING> __device__ __forceinline__ void copy_async_wait() { asm volatile("cp.async.wait_group %0;" :: "n"(PENDING)); }

__device__ __forceinline__ float exp2_approx(float x) { float y; asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }

// Two adjacent 16-bit values as one 32-bit load, zero past the head's d columns (d is even).
__device__ __forceinline__ u32 load_pair(const u16* row, int col, int d) { return col < d ? *(const u32*)(row + col) : 0u; }

// Keys key0 … key0+63 of K and V into shared tiles, zeros past lk and past the head's d columns. When d is a
// multiple of 8 (SD's 40, 64, 80, 160) by asynchronous 16-byte copies; otherwise by 32-bit loads and stores.
template <int DP>
__device__ __forceinline__ void load_tile(u16 (*kTile)[DP + KPAD], u16 (*vTile)[DP + KPAD], const u16* kBase, const u16* vBase,
    int key0, int lk, int d, int stride)
{
    if (d % 8 == 0)
    {
        for (int i = threadIdx.x; i < KEYS * DP / 8; i += WARPS * 32)
        {
            int r = i / (DP / 8), c = (i % (DP / 8)) * 8;
            bool inside = key0 + r < lk && c < d;
            long long offset = inside ? (long long)(key0 + r) * stride + c : 0;
            copy_async16(&kTile[r][c], kBase + offset, inside);
            copy_async16(&vTile[r][c], vBase + offset, inside);
        }
    }
    else
    {
        for (int i = threadIdx.x; i < KEYS * DP / 2; i += WARPS * 32)
        {
            int r = i / (DP / 2), c = (i % (DP / 2)) * 2;
            bool inside = key0 + r < lk;
            *(u32*)&kTile[r][c] = inside ? load_pair(kBase + (long long)(key0 + r) * stride, c, d) : 0u;
            *(u32*)&vTile[r][c] = inside ? load_pair(vBase + (long long)(key0 + r) * stride, c, d) : 0u;
        }
    }
    copy_async_commit();
}

// MT: 16-row query tiles per warp. Two (32 rows) make every K and V fragment read from shared memory feed two
// products, halving shared-memory traffic per FLOP; head sizes over 80 keep one, or the accumulators would spill.
// STAGES: shared K/V tiles; with two, the next tile is copied in while this one is computed on (the two fit in the
// 48 KB of static shared memory up to head size 80).
template <int DP, int MT, int STAGES>
__device__ __forceinline__ void flash_attention(const u16* __restrict__ q, const u16* __restrict__ k, const u16* __restrict__ v,
    u16* __restrict__ y, int lq, int lk, int d, int stride, float scaleLog2, int causal)
{
    __shared__ __align__(16) u16 kTiles[STAGES][KEYS][DP + KPAD];   // K rows: key × dim
    __shared__ __align__(16) u16 vTiles[STAGES][KEYS][DP + KPAD];   // V rows, read transposed by ldmatrix

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int group = lane >> 2, quad = lane & 3;           // mma fragment coordinates: row group, thread in group
    const int head = blockIdx.y, batch = blockIdx.z;
    const int blockRows = WARPS * 16 * MT;
    const int q0 = blockIdx.x * blockRows + warp * 16 * MT; // this warp's first query row
    const long long headOffset = (long long)head * d;
    const u16* qBase = q + (long long)batch * lq * stride + headOffset;
    const u16* kBase = k + (long long)batch * lk * stride + headOffset;
    const u16* vBase = v + (long long)batch * lk * stride + headOffset;

    // With a causal mask no query of this block sees keys past its last row.
    const int keyEnd = causal ? min(lk, (int)(blockIdx.x + 1) * blockRows) : lk;
    const int tiles = (keyEnd + KEYS - 1) / KEYS;
    load_tile<DP>(kTiles[0], vTiles[0], kBase, vBase, 0, lk, d, stride);

    // The warp's Q rows as A fragments: per query tile, one per 16 columns of the head.
    u32 qa[MT][DP / 16][4];
#pragma unroll
    for (int m = 0; m < MT; m++)
    {
        int r0 = q0 + m * 16 + group, r1 = r0 + 8;
        const u16* row0 = qBase + (long long)min(r0, lq - 1) * stride;
        const u16* row1 = qBase + (long long)min(r1, lq - 1) * stride;
#pragma unroll
        for (int t = 0; t < DP / 16; t++)
        {
            int c = t * 16 + quad * 2;
            qa[m][t][0] = load_pair(row0, c, d);
            qa[m][t][1] = load_pair(row1, c, d);
            qa[m][t][2] = load_pair(row0, c + 8, d);
            qa[m][t][3] = load_pair(row1, c + 8, d);
        }
    }

    float o[MT][DP / 8][4];
#pragma unroll
    for (int m = 0; m < MT; m++)
#pragma unroll
        for (int j = 0; j < DP / 8; j++) o[m][j][0] = o[m][j][1] = o[m][j][2] = o[m][j][3] = 0.0f;
    // Per thread: rows group and group + 8 of each query tile.
    float rowMax[MT][2], rowSum[MT][2];
#pragma unroll
    for (int m = 0; m < MT; m++) rowMax[m][0] = rowMax[m][1] = NEG_INF, rowSum[m][0] = rowSum[m][1] = 0.0f;

    for (int tile = 0; tile < tiles; tile++)
    {
        const int key0 = tile * KEYS, stage = STAGES == 2 ? tile & 1 : 0;
        if (STAGES == 2 && tile + 1 < tiles)
        {
            // The other stage was last read in the previous iteration, which ended with a barrier.
            load_tile<DP>(kTiles[stage ^ 1], vTiles[stage ^ 1], kBase, vBase, key0 + KEYS, lk, d, stride);
            copy_async_wait<1>();
        }
        else copy_async_wait<0>();
        __syncthreads(); // this tile's copies, from every thread, have landed
        u16 (*kTile)[DP + KPAD] = kTiles[stage];
        u16 (*vTile)[DP + KPAD] = vTiles[stage];

        // S = Q·Kᵀ for each query tile × 64 keys: 8 tiles of 16×8; each K fragment serves every query tile.
        float s[MT][KEYS / 8][4];
#pragma unroll
        for (int j = 0; j < KEYS / 8; j++)
        {
#pragma unroll
            for (int m = 0; m < MT; m++) s[m][j][0] = s[m][j][1] = s[m][j][2] = s[m][j][3] = 0.0f;
#pragma unroll
            for (int t = 0; t < DP / 16; t += 2)
            {
                if (t + 1 < DP / 16)
                {
                    u32 b[4]; // dims t·16 … t·16+31 of 8 keys: the B fragments of head tiles t and t + 1
                    ldmatrix_x4(b, &kTile[j * 8 + (lane & 7)][t * 16 + (lane >> 3) * 8]);
#pragma unroll
                    for (int m = 0; m < MT; m++)
                    {
                        mma(s[m][j], qa[m][t], b[0], b[1]);
                        mma(s[m][j], qa[m][t + 1], b[2], b[3]);
                    }
                }
                else
                {
                    u32 b[2];
                    ldmatrix_x2(b, &kTile[j * 8 + (lane & 7)][t * 16 + ((lane >> 3) & 1) * 8]);
#pragma unroll
                    for (int m = 0; m < MT; m++) mma(s[m][j], qa[m][t], b[0], b[1]);
                }
            }
        }

        // Online softmax in base 2; each row's values are spread over the 4 threads of a group. Only a tile that
        // reaches past the keys, or a causal one, needs masking.
        bool masked = key0 + KEYS > lk || causal;
#pragma unroll
        for (int m = 0; m < MT; m++)
        {
            float tileMax[2] = {NEG_INF, NEG_INF};
#pragma unroll
            for (int j = 0; j < KEYS / 8; j++)
#pragma unroll
                for (int e = 0; e < 4; e++)
                {
                    float value = s[m][j][e] * scaleLog2;
                    if (masked)
                    {
                        int key = key0 + j * 8 + quad * 2 + (e & 1), row = q0 + m * 16 + group + (e >> 1) * 8;
                        if (key >= lk || (causal && key > row)) value = NEG_INF;
                    }
                    s[m][j][e] = value;
                    tileMax[e >> 1] = fmaxf(tileMax[e >> 1], value);
                }
            float correction[2];
#pragma unroll
            for (int r = 0; r < 2; r++)
            {
                tileMax[r] = fmaxf(tileMax[r], __shfl_xor_sync(0xffffffffu, tileMax[r], 1));
                tileMax[r] = fmaxf(tileMax[r], __shfl_xor_sync(0xffffffffu, tileMax[r], 2));
                float newMax = fmaxf(rowMax[m][r], tileMax[r]);
                // A row with every key masked so far keeps max −∞; its exponentials are 0, not NaN.
                float base = newMax == NEG_INF ? 0.0f : newMax;
                correction[r] = exp2_approx(rowMax[m][r] - base);
                rowMax[m][r] = newMax;
                rowSum[m][r] *= correction[r];
                tileMax[r] = base;
            }
#pragma unroll
            for (int j = 0; j < KEYS / 8; j++)
#pragma unroll
                for (int e = 0; e < 4; e++)
                {
                    s[m][j][e] = exp2_approx(s[m][j][e] - tileMax[e >> 1]);
                    rowSum[m][e >> 1] += s[m][j][e];
                }
#pragma unroll
            for (int j = 0; j < DP / 8; j++)
            {
                o[m][j][0] *= correction[0]; o[m][j][1] *= correction[0];
                o[m][j][2] *= correction[1]; o[m][j][3] *= correction[1];
            }
        }

        // O += P·V: two adjacent S tiles (16 keys) are exactly one A fragment of P; each V fragment serves every query tile.
#pragma unroll
        for (int t = 0; t < KEYS / 16; t++)
        {
            u32 pa[MT][4];
#pragma unroll
            for (int m = 0; m < MT; m++)
            {
                pa[m][0] = pack(s[m][2 * t][0], s[m][2 * t][1]);
                pa[m][1] = pack(s[m][2 * t][2], s[m][2 * t][3]);
                pa[m][2] = pack(s[m][2 * t + 1][0], s[m][2 * t + 1][1]);
                pa[m][3] = pack(s[m][2 * t + 1][2], s[m][2 * t + 1][3]);
            }
#pragma unroll
            for (int j = 0; j < DP / 8; j += 2)
            {
                u32 b[4];
                ldmatrix_x4_trans(b, &vTile[t * 16 + (lane & 15)][(j + (lane >> 4)) * 8]);
#pragma unroll
                for (int m = 0; m < MT; m++)
                {
                    mma(o[m][j], pa[m], b[0], b[1]);
                    mma(o[m][j + 1], pa[m], b[2], b[3]);
                }
            }
        }
        __syncthreads(); // every warp is done with this stage before it is refilled
        if (STAGES == 1 && tile + 1 < tiles) load_tile<DP>(kTiles[0], vTiles[0], kBase, vBase, key0 + KEYS, lk, d, stride);
    }
    copy_async_wait<0>(); // lk = 0: the first tile's copies were issued all the same

#pragma unroll
    for (int m = 0; m < MT; m++)
#pragma unroll
        for (int r = 0; r < 2; r++)
        {
            rowSum[m][r] += __shfl_xor_sync(0xffffffffu, rowSum[m][r], 1);
            rowSum[m][r] += __shfl_xor_sync(0xffffffffu, rowSum[m][r], 2);
        }
#pragma unroll
    for (int m = 0; m < MT; m++)
#pragma unroll
        for (int r = 0; r < 2; r++)
        {
            int row = q0 + m * 16 + group + r * 8;
            if (row >= lq) continue;
            float inv = rowSum[m][r] > 0.0f ? 1.0f / rowSum[m][r] : 0.0f;
            u16* out = y + (long long)batch * lq * stride + (long long)row * stride + headOffset;
#pragma unroll
            for (int j = 0; j < DP / 8; j++)
            {
                int c = j * 8 + quad * 2;
                if (c < d) *(u32*)(out + c) = (u32)st(o[m][j][2 * r] * inv) | ((u32)st(o[m][j][2 * r + 1] * inv) << 16);
            }
        }
}

// The entry point for a padded head size (SD: 40→48, 64, 80, 160; others up to 160). A block covers
// WARPS·16·FLASH_TILES(DP) query rows; TWO_TILES_UP_TO comes from the backend, which sizes the grid by it.
#define FLASH_TILES(DP) ((DP) <= TWO_TILES_UP_TO ? 2 : 1)
#define FLASH_STAGES(DP) ((DP) <= 80 ? 2 : 1)
#define FLASH(DP) \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) flash_attention_##DP(const u16* q, const u16* k, const u16* v, u16* y, \
        int lq, int lk, int d, int stride, float scaleLog2, int causal) \
    { flash_attention<DP, FLASH_TILES(DP), FLASH_STAGES(DP)>(q, k, v, y, lq, lk, d, stride, scaleLog2, causal); }

// One head size per compilation (FLASH_DP, set by the backend when a model first needs it): compiling all ten
// took most of a first run's start-up; SD 1.5 needs two (48 for its UNet, 64 for CLIP).
#define FLASH_FOR(DP) FLASH(DP)
FLASH_FOR(FLASH_DP)
