// Packed, cache-blocked Gemm (see gemm.h for the contract).
//
// Structure (after BLIS): C is cut into one rectangular part per thread (split
// over outputs only, on micro-tile boundaries). Each part runs
//   for jc over its columns, NC at a time
//     for pc over K, KC at a time, in order        (C carries the partial sums)
//       for ic over its rows, MC at a time
//         pack op(A)[ic.., pc..] into MR-row micro-panels
//         for jr over NC, NR at a time
//           (first ic only) pack op(B)[pc.., jr..], a few NR-column panels at once
//           for ir over MC, MR at a time: micro-kernel on the MR x NR tile of C
// The micro-kernel continues each C element's fma chain over k = pc .. pc+kc-1
// (starting from +0 on the first block unless accumulating), so an element's
// chain is k = 0 .. K-1 in order whatever MR, NR, KC, MC, NC, the part it falls
// in, or the number of threads. Edge tiles use a kernel with fewer rows and
// masked columns; K is never padded (fma(0, 0, -0) is +0, not -0).
//
// Few-row shapes (decode) take other routes with the same chains: op(B) = B
// streams B's rows through an in-place update of C (RunStreaming); op(B) = B^T
// with B stored as f32 or bf16 and M <= 32 reads B's rows in place through
// the decode tiles (gemm_decode.h, up to 8 rows a tile), and otherwise uses a
// "skinny" kernel set whose wide tiles keep enough chains in flight.
#include "tensor/gemm.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <utility>
#include <vector>

#include "tensor/gemm_decode.h"
#include "tensor/gemm_isa.h"
#include "tensor/gemm_kernels.h"
#include "tensor/gemm_pack.h"
#include "base/status.h"
#include "tensor/tensor.h"
#include "tensor/thread_pool.h"

namespace aftune {

void GemmReference(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      float c = accumulate ? C[i * ldc + j] : 0.0f;
      for (int64_t k = 0; k < K; ++k) {
        float a = ta == Trans::kN ? A[i * lda + k] : A[k * lda + i];
        float b = tb == Trans::kN ? B[k * ldb + j] : B[j * ldb + k];
        c = std::fma(a, b, c);
      }
      C[i * ldc + j] = c;
    }
  }
}

float StoredMatrix::At(int64_t row, int64_t col) const {
  const int64_t i = row * ld + col;
  switch (dtype) {
    case DType::kF32: return static_cast<const float*>(data)[i];
    case DType::kBF16: return BF16ToF32(static_cast<const uint16_t*>(data)[i]);
    case DType::kF16: return F16ToF32(static_cast<const uint16_t*>(data)[i]);
    default: AFTUNE_CHECK(false);
  }
  return 0.0f;
}

void GemmReference(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                   StoredMatrix B, float* C, int64_t ldc, bool accumulate) {
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      float c = accumulate ? C[i * ldc + j] : 0.0f;
      for (int64_t k = 0; k < K; ++k) {
        float a = ta == Trans::kN ? A[i * lda + k] : A[k * lda + i];
        float b = tb == Trans::kN ? B.At(k, j) : B.At(j, k);
        c = std::fma(a, b, c);
      }
      C[i * ldc + j] = c;
    }
  }
}

namespace {

using gemm_internal::KernelFn;

constexpr int kMaxMR = 12;
constexpr int kMaxNV = 8;
// B panels packed together (see RunPart).
constexpr int kPackGroup = 4;

// A family of micro-kernels and the blocking that suits it. Block sizes were
// tuned on Zen 5 (48 KiB L1d, 1 MiB L2): KC = 1024 keeps a KC x NR panel of B and
// an MC x KC block of A in L2 and loads/stores each C tile once per 1024 k.
struct KernelSet {
  int mr;       // rows of the register tile
  int lanes;    // floats per vector
  int nv;       // vectors per row of the tile; NR = lanes * nv
  int64_t kc;   // K block
  int64_t mc;   // M block (a multiple of mr)
  int64_t nc;   // N block (a multiple of NR)
  // fn[r][v][masked]: r rows (1..mr), v vectors (1..nv), masked last vector.
  KernelFn fn[kMaxMR + 1][kMaxNV + 1][2];
  int nr() const { return lanes * nv; }
};

// Names the kernel template of an instruction set, so one filler serves all.
struct PortableKernels {
  template <int R, int V, bool kMasked>
  static constexpr KernelFn fn = &gemm_internal::KernelPortable<R, 8 * V>;
};
#if defined(__AVX2__) && defined(__FMA__)
struct Avx2Kernels {
  template <int R, int V, bool kMasked>
  static constexpr KernelFn fn = &gemm_internal::KernelAvx2<R, V, kMasked>;
};
#endif
#if defined(__AVX512F__)
struct Avx512Kernels {
  template <int R, int V, bool kMasked>
  static constexpr KernelFn fn = &gemm_internal::KernelAvx512<R, V, kMasked>;
};
#endif

template <class Kernels, int V, int... R>
void FillColumn(KernelSet& s, std::integer_sequence<int, R...>) {
  ((s.fn[R + 1][V][0] = Kernels::template fn<R + 1, V, false>,
    s.fn[R + 1][V][1] = Kernels::template fn<R + 1, V, true>),
   ...);
}

template <class Kernels, int MR, int... V>
void FillTable(KernelSet& s, std::integer_sequence<int, V...>) {
  (FillColumn<Kernels, V + 1>(s, std::make_integer_sequence<int, MR>()), ...);
}

template <class Kernels, int MR, int NV>
KernelSet MakeSet(int lanes, int64_t kc, int64_t mc, int64_t nc) {
  static_assert(MR <= kMaxMR && NV <= kMaxNV);
  KernelSet s{};
  s.mr = MR, s.lanes = lanes, s.nv = NV, s.kc = kc, s.mc = mc, s.nc = nc;
  FillTable<Kernels, MR>(s, std::make_integer_sequence<int, NV>());
  return s;
}

// Up to this many rows of C against B^T stored as f32 or bf16 go through the
// decode tiles: each weight is used by few rows, so reading B once, in place,
// beats packing it. Measured on the llama-3.2-1b projections, one thread: the
// tiles are 2-3.5x the packed route at M <= 16, 1.1-1.4x at 32, 0.86-1.09x
// at 48, behind at 64.
constexpr int kDecodeRows = 32;
// The most rows one decode tile holds (its accumulators stay in registers).
constexpr int kDecodeTileRows = 8;

// Decode tiles of one instruction set: fn[dtype][M] for M = 1 .. kDecodeTileRows
// rows (dtype 0: f32, 1: bf16), each `width[M]` columns wide; null when the
// set has none.
struct DecodeSet {
  gemm_internal::DecodeFn fn[2][kDecodeTileRows + 1] = {};
  int width[kDecodeTileRows + 1] = {};
};

#if defined(__AVX2__) && defined(__FMA__)
// One row keeps two column vectors (two chains in flight); more rows give
// more chains, and one vector keeps the registers for the transpose.
template <class V, int... R>
DecodeSet MakeDecodeSet(std::integer_sequence<int, R...>) {
  DecodeSet s;
  constexpr auto nv = [](int rows) { return rows == 1 ? 2 : 1; };
  ((s.fn[0][R + 1] = &gemm_internal::DecodeTile<V, DType::kF32, R + 1, nv(R + 1)>,
    s.fn[1][R + 1] = &gemm_internal::DecodeTile<V, DType::kBF16, R + 1, nv(R + 1)>,
    s.width[R + 1] = V::kLanes * nv(R + 1)),
   ...);
  return s;
}
#endif

// The kernels of one instruction set: `regular` for most shapes, `skinny` for a
// few rows of C against a transposed B (decode-like shapes), where the regular
// tile would leave too few independent chains to cover the fma latency, and
// `decode` for those shapes when B is stored as f32 or bf16.
struct IsaKernels {
  KernelSet regular, skinny;
  DecodeSet decode;
};

const IsaKernels& Kernels([[maybe_unused]] GemmIsa isa) {
  // The portable kernel is scalar (lanes = 1 vector of 8 columns); its blocking
  // matters little.
  static const IsaKernels portable{MakeSet<PortableKernels, 4, 1>(8, 256, 128, 1024),
                                   MakeSet<PortableKernels, 4, 1>(8, 256, 128, 1024), DecodeSet{}};
#if defined(__AVX2__) && defined(__FMA__)
  // Regular: the 6x16 tile, 12 ymm accumulators. Skinny: one row, 64 columns,
  // 8 independent chains to cover the fma latency.
  static const IsaKernels avx2{MakeSet<Avx2Kernels, 6, 2>(8, 1024, 48, 1024),
                               MakeSet<Avx2Kernels, 1, 8>(8, 256, 1, 1024),
                               MakeDecodeSet<gemm_internal::Ymm>(std::make_integer_sequence<int, kDecodeTileRows>())};
  if (isa == GemmIsa::kAvx2) return avx2;
#endif
#if defined(__AVX512F__)
  // Regular: the 12x32 tile, 24 zmm accumulators. Skinny: up to two rows, 128
  // columns, 8 or 16 chains.
  static const IsaKernels avx512{MakeSet<Avx512Kernels, 12, 2>(16, 1024, 96, 1024),
                                 MakeSet<Avx512Kernels, 2, 8>(16, 256, 2, 1024),
                                 MakeDecodeSet<gemm_internal::Zmm>(std::make_integer_sequence<int, kDecodeTileRows>())};
  if (isa == GemmIsa::kAvx512) return avx512;
#endif
  assert(isa == GemmIsa::kPortable);
  return portable;
}

struct Problem {
  Trans ta, tb;
  int64_t K;
  const float* A;
  int64_t lda;
  const void* B;  // Storage<b_dtype>::T elements
  DType b_dtype;
  int64_t ldb;
  float* C;
  int64_t ldc;
  bool accumulate;

  template <DType D>
  const typename gemm_internal::Storage<D>::T* b() const {
    return static_cast<const typename gemm_internal::Storage<D>::T*>(B);
  }
};

// Calls fn.template operator()<D>() for the problem's B dtype.
template <class Fn>
void WithBDType(DType d, Fn&& fn) {
  switch (d) {
    case DType::kF32: fn.template operator()<DType::kF32>(); return;
    case DType::kBF16: fn.template operator()<DType::kBF16>(); return;
    case DType::kF16: fn.template operator()<DType::kF16>(); return;
    default: AFTUNE_CHECK(false);
  }
}

// Packs op(A)[i0 : i0 + rows][k0 : k0 + kc] into micro-panels of mr rows: panel
// q (r = min(mr, rows - q*mr) rows) at dst + q*mr*kc holds op(A)[i0 + q*mr + i][k0 + k]
// at [k * r + i].
void PackA(const Problem& p, int64_t i0, int64_t rows, int mr, int64_t k0, int64_t kc, float* dst) {
  if (p.ta == Trans::kN) {
    for (int64_t ir = 0; ir < rows; ir += mr) {
      const int r = static_cast<int>(std::min<int64_t>(mr, rows - ir));
      gemm_internal::PackTransposed(p.A + (i0 + ir) * p.lda + k0, p.lda, r, kc, dst + ir * kc, r);
    }
  } else {
    gemm_internal::PackRowsToPanels(p.A + k0 * p.lda + i0, p.lda, rows, kc, mr, dst);
  }
}

// Packs op(B)[k0 : k0 + kc][j0 : j0 + cols] into micro-panels of nr columns, laid
// out as PackA's (panel q at dst + q*nr*kc, row stride = its width).
// B stored as bf16 or f16 is widened here, exactly, so the panels hold the
// floats they would hold for the widened matrix.
void PackB(const Problem& p, int64_t k0, int64_t kc, int64_t j0, int64_t cols, int nr, float* dst) {
  WithBDType(p.b_dtype, [&]<DType D>() {
    if (p.tb == Trans::kN) {
      gemm_internal::PackRowsToPanels<D>(p.b<D>() + k0 * p.ldb + j0, p.ldb, cols, kc, nr, dst);
    } else {
      for (int64_t jr = 0; jr < cols; jr += nr) {
        const int c = static_cast<int>(std::min<int64_t>(nr, cols - jr));
        gemm_internal::PackTransposed<D>(p.b<D>() + (j0 + jr) * p.ldb + k0, p.ldb, c, kc, dst + jr * kc, c);
      }
    }
  });
}

// Per-thread packing buffers, grown on demand and reused across calls.
struct PackBuffers {
  FloatVector a, b;
};
PackBuffers& ThreadBuffers() {
  thread_local PackBuffers buffers;
  return buffers;
}

// Starts moving rows x cols floats of C at c (row stride ldc) into L2.
void PrefetchTile(const float* c, int64_t ldc, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const char* row = reinterpret_cast<const char*>(c + r * ldc);
    for (int64_t byte = 0; byte < cols * 4; byte += 64) __builtin_prefetch(row + byte, 0, 2);
    __builtin_prefetch(row + cols * 4 - 1, 0, 2);
  }
}

// Computes C[m0:m1, n0:n1]. Parts never overlap, so parts run concurrently.
void RunPart(const KernelSet& ks, const Problem& p, int64_t m0, int64_t m1, int64_t n0,
             int64_t n1) {
  const int mr = ks.mr, nr = ks.nr();
  const int64_t rows = m1 - m0;
  PackBuffers& buf = ThreadBuffers();
  const int64_t kc_max = std::min(ks.kc, p.K);
  const int64_t mc_max = std::min(ks.mc, (rows + mr - 1) / mr * mr);
  const int64_t nc_max = std::min(ks.nc, (n1 - n0 + nr - 1) / nr * nr);
  if (static_cast<int64_t>(buf.a.size()) < kc_max * mc_max)
    buf.a.resize(static_cast<size_t>(kc_max * mc_max));
  if (static_cast<int64_t>(buf.b.size()) < kc_max * nc_max)
    buf.b.resize(static_cast<size_t>(kc_max * nc_max));
  float* ap = buf.a.data();
  float* bp = buf.b.data();

  for (int64_t jc = n0; jc < n1; jc += ks.nc) {
    const int64_t nc = std::min(ks.nc, n1 - jc);
    for (int64_t pc = 0; pc < p.K; pc += ks.kc) {
      const int64_t kc = std::min(ks.kc, p.K - pc);
      const bool load_c = p.accumulate || pc > 0;
      for (int64_t ic = m0; ic < m1; ic += ks.mc) {
        const int64_t mc = std::min(ks.mc, m1 - ic);
        PackA(p, ic, mc, mr, pc, kc, ap);
        for (int64_t jr = 0; jr < nc; jr += nr) {
          const int cols = static_cast<int>(std::min<int64_t>(nr, nc - jr));
          // On the first row block, pack B a few panels ahead of their first use,
          // so they are still in cache when the kernels read them.
          if (ic == m0 && jr % (kPackGroup * nr) == 0)
            PackB(p, pc, kc, jc + jr, std::min<int64_t>(kPackGroup * nr, nc - jr), nr,
                  bp + jr * kc);
          const float* b = bp + jr * kc;
          const int nv = (cols + ks.lanes - 1) / ks.lanes;
          const int masked = cols % ks.lanes != 0;
          float* c = p.C + ic * p.ldc + jc + jr;
          for (int64_t ir = 0; ir < mc; ir += mr) {
            const int r = static_cast<int>(std::min<int64_t>(mr, mc - ir));
            // The next tile of C (down this column panel, else the top of the next
            // one) into L2 while this one computes: C rows are far apart, so the
            // hardware prefetcher does not find them, and a kernel call stalls on
            // its first loads or its stores otherwise.
            if (ir + mr < mc)
              PrefetchTile(c + (ir + mr) * p.ldc, p.ldc, std::min<int64_t>(mr, mc - ir - mr), cols);
            else if (jr + nr < nc)
              PrefetchTile(c + nr, p.ldc, std::min<int64_t>(mr, mc), std::min<int64_t>(nr, nc - jr - nr));
            ks.fn[r][nv][masked](kc, ap + ir * kc, b, cols, c + ir * p.ldc, p.ldc, cols, load_c);
          }
        }
      }
    }
  }
}

// Splits C into pm x pn parts on micro-tile boundaries. Picks the split of
// `parts` that minimises the largest part's cost (multiply-adds plus packing).
struct Split {
  int64_t pm, pn;
};
Split ChooseSplit(const KernelSet& ks, int64_t M, int64_t N, int64_t K, int parts) {
  const int64_t mt = (M + ks.mr - 1) / ks.mr, nt = (N + ks.nr() - 1) / ks.nr();
  Split best{1, 1};
  double best_cost = -1;
  for (int64_t pm = 1; pm <= parts; ++pm) {
    if (parts % pm != 0) continue;
    const int64_t pn = parts / pm;
    if (pm > mt || pn > nt) continue;
    const double rows = static_cast<double>((mt + pm - 1) / pm * ks.mr);
    const double cols = static_cast<double>((nt + pn - 1) / pn * ks.nr());
    // A packed float costs about as much as 16 multiply-adds.
    const double k = static_cast<double>(K);
    const double cost = rows * cols * k + 16.0 * k * (rows + cols);
    if (best_cost < 0 || cost < best_cost) best_cost = cost, best = {pm, pn};
  }
  return best;
}

// C[0:M, n0:n1] for a few rows of C and op(B) = B (decode-like shapes): streams
// the rows of B once, in order, each fma updating C in place (C's strip stays in
// L1). Starting from C = +0 (unless accumulating), the chain per element is the
// canonical one. No packing: every B element is used by at most kStreamRows rows.
constexpr int64_t kStreamRows = 4;
template <DType D>
void RunStreamingAs(const Problem& p, int64_t M, int64_t n0, int64_t n1) {
  using Storage = gemm_internal::Storage<D>;
  constexpr int64_t kStrip = 1024;
  for (int64_t j0 = n0; j0 < n1; j0 += kStrip) {
    const int64_t w = std::min(kStrip, n1 - j0);
    if (!p.accumulate)
      for (int64_t i = 0; i < M; ++i) std::fill_n(p.C + i * p.ldc + j0, w, 0.0f);
    for (int64_t k = 0; k < p.K; ++k) {
      const typename Storage::T* __restrict b = p.b<D>() + k * p.ldb + j0;
      for (int64_t i = 0; i < M; ++i) {
        const float a = p.ta == Trans::kN ? p.A[i * p.lda + k] : p.A[k * p.lda + i];
        float* __restrict c = p.C + i * p.ldc + j0;
        for (int64_t j = 0; j < w; ++j) c[j] = std::fma(a, Storage::Widen(b[j]), c[j]);
      }
    }
  }
}
void RunStreaming(const Problem& p, int64_t M, int64_t n0, int64_t n1) {
  WithBDType(p.b_dtype, [&]<DType D>() { RunStreamingAs<D>(p, M, n0, n1); });
}

// C[0:M, 0:N] for op(B) = B^T through the decode tiles of `set` (B's dtype
// index d): rows in groups of up to kDecodeTileRows, columns in tiles, the
// tiles in `parts` contiguous runs of about equal length, one per thread (a
// run streams its own rows of B). Every group of a column tile runs before
// the next tile, so B's rows come from memory once and from cache for the
// other groups.
void RunDecode(const DecodeSet& set, int d, const Problem& p, int64_t M, int64_t N, int parts, ThreadPool* pool) {
  const int64_t groups = (M + kDecodeTileRows - 1) / kDecodeTileRows;
  // op(A) k-major per group, shared by the threads (a few floats per k).
  thread_local FloatVector a_packed;
  if (static_cast<int64_t>(a_packed.size()) < M * p.K) a_packed.resize(static_cast<size_t>(M * p.K));
  std::vector<gemm_internal::DecodeArgs> args;
  std::vector<int> rows;
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t i0 = g * kDecodeTileRows;
    rows.push_back(static_cast<int>(std::min<int64_t>(kDecodeTileRows, M - i0)));
    float* a = a_packed.data() + i0 * p.K;
    PackA(p, i0, rows.back(), rows.back(), 0, p.K, a);
    args.push_back({p.K, a, p.B, p.ldb, p.C + i0 * p.ldc, p.ldc, p.accumulate});
  }
  const int width = set.width[rows[0]];
  const int64_t tiles = (N + width - 1) / width;
  parts = static_cast<int>(std::min<int64_t>(parts, tiles));
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t part = begin; part < end; ++part)
      for (int64_t t = part * tiles / parts; t < (part + 1) * tiles / parts; ++t)
        for (int64_t g = 0; g < groups; ++g)
          set.fn[d][rows[g]](args[g], t * width, static_cast<int>(std::min<int64_t>(width, N - t * width)));
  };
  if (pool && parts > 1) pool->ParallelFor(parts, 1, run);
  else run(0, parts);
}

// How many threads get a share of `work` multiply-adds: one per ~2^19 of them
// (about what waking a thread costs), at most the pool's.
int PartsFor(double work, ThreadPool* pool) {
  const int threads = pool ? pool->num_threads() : 1;
  return static_cast<int>(std::min<double>(threads, std::max(1.0, work / (1 << 19))));
}

// The decode route is bound by reading B, not by its multiply-adds: a thread
// gets a share once there are ~256 KiB of B per share (~20 us at one core's
// read rate, against ~1 us to hand work to a spinning worker), so a small
// model's projections (a few hundred KiB to MiB at one row) are split too.
int DecodePartsFor(double work, double b_bytes, ThreadPool* pool) {
  const int threads = pool ? pool->num_threads() : 1;
  return std::max(PartsFor(work, pool), static_cast<int>(std::min<double>(threads, b_bytes / (256 << 10))));
}

void GemmImpl(GemmIsa isa, Trans ta, Trans tb, int64_t M, int64_t N, int64_t K,
              const float* A, int64_t lda, StoredMatrix B, float* C, int64_t ldc,
              bool accumulate, ThreadPool* pool) {
  AFTUNE_CHECK(IsFloatStorage(B.dtype));
  assert(M >= 0 && N >= 0 && K >= 0);
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    return;
  }
  const Problem p{ta, tb, K, A, lda, B.data, B.dtype, B.ld, C, ldc, accumulate};
  const double work = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);

  if (tb == Trans::kN && M <= kStreamRows) {
    // Column strips of 64, split evenly over the parts.
    const int64_t strips = (N + 63) / 64;
    const int64_t parts = std::min<int64_t>(PartsFor(work, pool), strips);
    auto run = [&](int64_t begin, int64_t end) {
      for (int64_t part = begin; part < end; ++part)
        RunStreaming(p, M, std::min(N, part * strips / parts * 64),
                     std::min(N, (part + 1) * strips / parts * 64));
    };
    if (pool && parts > 1) pool->ParallelFor(parts, 1, run);
    else run(0, parts);
    return;
  }

  const IsaKernels& kernels = Kernels(isa);
  if (tb == Trans::kT && M <= kDecodeRows && (B.dtype == DType::kF32 || B.dtype == DType::kBF16)) {
    const int d = B.dtype == DType::kBF16 ? 1 : 0;
    if (kernels.decode.fn[d][1]) {
      const double b_bytes = static_cast<double>(N) * static_cast<double>(K) * DTypeSize(B.dtype);
      RunDecode(kernels.decode, d, p, M, N, DecodePartsFor(work, b_bytes, pool), pool);
      return;
    }
  }
  const KernelSet& ks =
      tb == Trans::kT && M <= kernels.skinny.mr ? kernels.skinny : kernels.regular;
  const int64_t mt = (M + ks.mr - 1) / ks.mr, nt = (N + ks.nr() - 1) / ks.nr();
  int parts = static_cast<int>(std::min<int64_t>(PartsFor(work, pool), mt * nt));
  Split split = ChooseSplit(ks, M, N, K, parts);
  // A thread count with no usable factorisation (e.g. prime > mt and > nt) falls
  // back to fewer parts.
  while (split.pm * split.pn < parts && parts > 1) split = ChooseSplit(ks, M, N, K, --parts);
  const int64_t n_parts = split.pm * split.pn;
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t part = begin; part < end; ++part) {
      const int64_t pi = part / split.pn, pj = part % split.pn;
      const int64_t m0 = std::min(M, pi * mt / split.pm * ks.mr);
      const int64_t m1 = std::min(M, (pi + 1) * mt / split.pm * ks.mr);
      const int64_t n0 = std::min(N, pj * nt / split.pn * ks.nr());
      const int64_t n1 = std::min(N, (pj + 1) * nt / split.pn * ks.nr());
      if (m0 < m1 && n0 < n1) RunPart(ks, p, m0, m1, n0, n1);
    }
  };
  if (pool && n_parts > 1) pool->ParallelFor(n_parts, 1, run);
  else run(0, n_parts);
}

}  // namespace

const char* GemmIsaName(GemmIsa isa) {
  switch (isa) {
    case GemmIsa::kPortable: return "portable";
    case GemmIsa::kAvx2: return "avx2";
    case GemmIsa::kAvx512: return "avx512";
  }
  return "?";
}

bool GemmIsaCompiled(GemmIsa isa) {
  switch (isa) {
    case GemmIsa::kPortable: return true;
    case GemmIsa::kAvx2:
#if defined(__AVX2__) && defined(__FMA__)
      return true;
#else
      return false;
#endif
    case GemmIsa::kAvx512:
#if defined(__AVX512F__)
      return true;
#else
      return false;
#endif
  }
  return false;
}

GemmIsa GemmDefaultIsa() {
#if defined(__AVX512F__)
  return GemmIsa::kAvx512;
#elif defined(__AVX2__) && defined(__FMA__)
  return GemmIsa::kAvx2;
#else
  return GemmIsa::kPortable;
#endif
}

void GemmWithIsa(GemmIsa isa, Trans ta, Trans tb, int64_t M, int64_t N, int64_t K,
                 const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                 int64_t ldc, bool accumulate, ThreadPool* pool) {
  GemmWithIsa(isa, ta, tb, M, N, K, A, lda, StoredMatrix{DType::kF32, B, ldb}, C, ldc, accumulate, pool);
}

void GemmWithIsa(GemmIsa isa, Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                 StoredMatrix B, float* C, int64_t ldc, bool accumulate, ThreadPool* pool) {
  assert(GemmIsaCompiled(isa));
  GemmImpl(isa, ta, tb, M, N, K, A, lda, B, C, ldc, accumulate, pool);
}

void Gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
          const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate, ThreadPool* pool) {
  GemmImpl(GemmDefaultIsa(), ta, tb, M, N, K, A, lda, StoredMatrix{DType::kF32, B, ldb}, C, ldc, accumulate, pool);
}

void Gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, StoredMatrix B,
          float* C, int64_t ldc, bool accumulate, ThreadPool* pool) {
  GemmImpl(GemmDefaultIsa(), ta, tb, M, N, K, A, lda, B, C, ldc, accumulate, pool);
}

}  // namespace aftune
