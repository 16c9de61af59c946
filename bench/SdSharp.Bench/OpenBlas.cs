using System.Runtime.InteropServices;

namespace SdSharp.Bench;

/// <summary>Debian's OpenBLAS, loaded at run time (bench/run-cpu.sh installs it), for side-by-side GEMM timings.</summary>
internal sealed unsafe class OpenBlas
{
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;
    private readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> _sgemm;

    private OpenBlas(nint library)
    {
        _sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)
            NativeLibrary.GetExport(library, "cblas_sgemm");
        if (NativeLibrary.TryGetExport(library, "openblas_get_config", out nint config))
            Config = Marshal.PtrToStringAnsi(((delegate* unmanaged<nint>)config)()) ?? "";
        if (NativeLibrary.TryGetExport(library, "openblas_get_corename", out nint core))
            Config += " core " + Marshal.PtrToStringAnsi(((delegate* unmanaged<nint>)core)());
        SetThreads = NativeLibrary.TryGetExport(library, "openblas_set_num_threads", out nint set)
            ? n => ((delegate* unmanaged<int, void>)set)(n)
            : _ => { };
    }

    public string Config { get; } = "";
    public Action<int> SetThreads { get; }

    public static OpenBlas? TryLoad()
    {
        string[] candidates =
        [
            "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
            "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
            "libopenblas.so.0",
        ];
        foreach (string path in candidates)
            if (NativeLibrary.TryLoad(path, out nint library)) return new OpenBlas(library);
        return null;
    }

    /// <summary>C[M×N] = A[M×K] · W[N×K]ᵀ, the shape of a linear layer.</summary>
    public void LinearProduct(float* a, float* w, float* c, int m, int n, int k) =>
        _sgemm(RowMajor, NoTrans, Trans, m, n, k, 1f, a, k, w, k, 0f, c, n);
}
