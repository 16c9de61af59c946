using System.Runtime.InteropServices;

namespace SdSharp.Cuda.Native;

/// <summary>cuBLASLt: the matrix products, with bias and residual fused into the epilogue.</summary>
internal sealed unsafe class CublasLt
{
    public readonly delegate* unmanaged<nint*, int> cublasLtCreate;
    public readonly delegate* unmanaged<nint, int> cublasLtDestroy;
    public readonly delegate* unmanaged<nint*, int, int, int> cublasLtMatmulDescCreate;
    public readonly delegate* unmanaged<nint, int> cublasLtMatmulDescDestroy;
    public readonly delegate* unmanaged<nint, int, void*, nuint, int> cublasLtMatmulDescSetAttribute;
    public readonly delegate* unmanaged<nint*, int, ulong, ulong, long, int> cublasLtMatrixLayoutCreate;
    public readonly delegate* unmanaged<nint, int> cublasLtMatrixLayoutDestroy;
    public readonly delegate* unmanaged<nint, int, void*, nuint, int> cublasLtMatrixLayoutSetAttribute;
    public readonly delegate* unmanaged<nint*, int> cublasLtMatmulPreferenceCreate;
    public readonly delegate* unmanaged<nint, int> cublasLtMatmulPreferenceDestroy;
    public readonly delegate* unmanaged<nint, int, void*, nuint, int> cublasLtMatmulPreferenceSetAttribute;
    public readonly delegate* unmanaged<nint, nint, nint, nint, nint, nint, nint, int, HeuristicResult*, int*, int> cublasLtMatmulAlgoGetHeuristic;
    public readonly delegate* unmanaged<nint, nint, void*, ulong, nint, ulong, nint, void*, ulong, nint, ulong, nint, void*, ulong, nuint, nint, int> cublasLtMatmul;

    public CublasLt(nint lib)
    {
        nint F(string name) => NativeLibrary.GetExport(lib, name);
        cublasLtCreate = (delegate* unmanaged<nint*, int>)F("cublasLtCreate");
        cublasLtDestroy = (delegate* unmanaged<nint, int>)F("cublasLtDestroy");
        cublasLtMatmulDescCreate = (delegate* unmanaged<nint*, int, int, int>)F("cublasLtMatmulDescCreate");
        cublasLtMatmulDescDestroy = (delegate* unmanaged<nint, int>)F("cublasLtMatmulDescDestroy");
        cublasLtMatmulDescSetAttribute = (delegate* unmanaged<nint, int, void*, nuint, int>)F("cublasLtMatmulDescSetAttribute");
        cublasLtMatrixLayoutCreate = (delegate* unmanaged<nint*, int, ulong, ulong, long, int>)F("cublasLtMatrixLayoutCreate");
        cublasLtMatrixLayoutDestroy = (delegate* unmanaged<nint, int>)F("cublasLtMatrixLayoutDestroy");
        cublasLtMatrixLayoutSetAttribute = (delegate* unmanaged<nint, int, void*, nuint, int>)F("cublasLtMatrixLayoutSetAttribute");
        cublasLtMatmulPreferenceCreate = (delegate* unmanaged<nint*, int>)F("cublasLtMatmulPreferenceCreate");
        cublasLtMatmulPreferenceDestroy = (delegate* unmanaged<nint, int>)F("cublasLtMatmulPreferenceDestroy");
        cublasLtMatmulPreferenceSetAttribute = (delegate* unmanaged<nint, int, void*, nuint, int>)F("cublasLtMatmulPreferenceSetAttribute");
        cublasLtMatmulAlgoGetHeuristic = (delegate* unmanaged<nint, nint, nint, nint, nint, nint, nint, int, HeuristicResult*, int*, int>)F("cublasLtMatmulAlgoGetHeuristic");
        cublasLtMatmul = (delegate* unmanaged<nint, nint, void*, ulong, nint, ulong, nint, void*, ulong, nint, ulong, nint, void*, ulong, nuint, nint, int>)F("cublasLtMatmul");
    }

    public static void Check(int status, string call)
    {
        if (status != 0) throw new CudaException($"{call} failed (cuBLAS status {status})");
    }

    // Enum values from cublasLt.h / library_types.h (CUDA 12 and 13).
    public const int ComputeF32 = 68;
    public const int DataF32 = 0, DataF16 = 2, DataBF16 = 14;
    public const int DescTransA = 3, DescTransB = 4, DescEpilogue = 7, DescBiasPointer = 8, DescBiasDataType = 26;
    public const int OpN = 0, OpT = 1;
    public const int EpilogueDefault = 1, EpilogueBias = 4;
    public const int LayoutBatchCount = 5, LayoutStridedBatchOffset = 6;
    public const int PrefMaxWorkspaceBytes = 1;

    /// <summary>cublasLtMatmulHeuristicResult_t: an opaque 64-byte algorithm, its workspace and status.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct HeuristicResult
    {
        public fixed ulong Algo[8];
        public nuint WorkspaceSize;
        public int State;
        public float WavesCount;
        public fixed int Reserved[4];
    }
}
