using System.Runtime.InteropServices;

namespace SdSharp.Cuda.Native;

/// <summary>
/// cuDNN's convolution entry points (the descriptor API, still in cuDNN 9): implicit-GEMM convolutions that read
/// NHWC activations and KRSC (OHWI) filters in place, where im2col would first write a 9× larger matrix.
/// </summary>
internal sealed unsafe class Cudnn
{
    public readonly delegate* unmanaged<nint*, int> cudnnCreate;
    public readonly delegate* unmanaged<nint, int> cudnnDestroy;
    public readonly delegate* unmanaged<nint, nint, int> cudnnSetStream;
    public readonly delegate* unmanaged<nint*, int> cudnnCreateTensorDescriptor;
    public readonly delegate* unmanaged<nint, int, int, int, int, int, int, int> cudnnSetTensor4dDescriptor;
    public readonly delegate* unmanaged<nint, int> cudnnDestroyTensorDescriptor;
    public readonly delegate* unmanaged<nint*, int> cudnnCreateFilterDescriptor;
    public readonly delegate* unmanaged<nint, int> cudnnDestroyFilterDescriptor;
    public readonly delegate* unmanaged<nint, int, int, int, int, int, int, int> cudnnSetFilter4dDescriptor;
    public readonly delegate* unmanaged<nint*, int> cudnnCreateConvolutionDescriptor;
    public readonly delegate* unmanaged<nint, int> cudnnDestroyConvolutionDescriptor;
    public readonly delegate* unmanaged<nint, int, int, int, int, int, int, int, int, int> cudnnSetConvolution2dDescriptor;
    public readonly delegate* unmanaged<nint, int, int> cudnnSetConvolutionMathType;
    public readonly delegate* unmanaged<nint, nint, nint, nint, nint, int, int*, AlgoPerf*, int> cudnnGetConvolutionForwardAlgorithm_v7;
    public readonly delegate* unmanaged<nint, void*, nint, ulong, nint, ulong, nint, int, ulong, nuint, void*, nint, ulong, int> cudnnConvolutionForward;
    public readonly delegate* unmanaged<nint, void*, nint, ulong, void*, nint, ulong, int> cudnnAddTensor;

    public Cudnn(nint lib)
    {
        nint F(string name) => NativeLibrary.GetExport(lib, name);
        cudnnCreate = (delegate* unmanaged<nint*, int>)F("cudnnCreate");
        cudnnDestroy = (delegate* unmanaged<nint, int>)F("cudnnDestroy");
        cudnnSetStream = (delegate* unmanaged<nint, nint, int>)F("cudnnSetStream");
        cudnnCreateTensorDescriptor = (delegate* unmanaged<nint*, int>)F("cudnnCreateTensorDescriptor");
        cudnnSetTensor4dDescriptor = (delegate* unmanaged<nint, int, int, int, int, int, int, int>)F("cudnnSetTensor4dDescriptor");
        cudnnDestroyTensorDescriptor = (delegate* unmanaged<nint, int>)F("cudnnDestroyTensorDescriptor");
        cudnnCreateFilterDescriptor = (delegate* unmanaged<nint*, int>)F("cudnnCreateFilterDescriptor");
        cudnnDestroyFilterDescriptor = (delegate* unmanaged<nint, int>)F("cudnnDestroyFilterDescriptor");
        cudnnSetFilter4dDescriptor = (delegate* unmanaged<nint, int, int, int, int, int, int, int>)F("cudnnSetFilter4dDescriptor");
        cudnnCreateConvolutionDescriptor = (delegate* unmanaged<nint*, int>)F("cudnnCreateConvolutionDescriptor");
        cudnnDestroyConvolutionDescriptor = (delegate* unmanaged<nint, int>)F("cudnnDestroyConvolutionDescriptor");
        cudnnSetConvolution2dDescriptor = (delegate* unmanaged<nint, int, int, int, int, int, int, int, int, int>)F("cudnnSetConvolution2dDescriptor");
        cudnnSetConvolutionMathType = (delegate* unmanaged<nint, int, int>)F("cudnnSetConvolutionMathType");
        cudnnGetConvolutionForwardAlgorithm_v7 = (delegate* unmanaged<nint, nint, nint, nint, nint, int, int*, AlgoPerf*, int>)F("cudnnGetConvolutionForwardAlgorithm_v7");
        cudnnConvolutionForward = (delegate* unmanaged<nint, void*, nint, ulong, nint, ulong, nint, int, ulong, nuint, void*, nint, ulong, int>)F("cudnnConvolutionForward");
        cudnnAddTensor = (delegate* unmanaged<nint, void*, nint, ulong, void*, nint, ulong, int>)F("cudnnAddTensor");
    }

    /// <summary>cuDNN when it is installed; null otherwise (convolutions then go through im2col and cuBLASLt).</summary>
    public static Cudnn? TryLoad()
    {
        try
        {
            return new Cudnn(CudaLibraries.LoadCudnn());
        }
        catch (Exception e) when (e is CudaUnavailableException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    public static void Check(int status, string call)
    {
        if (status != 0) throw new CudaException($"{call} failed (cuDNN status {status})");
    }

    // Enum values from cudnn_graph.h / cudnn_cnn.h (cuDNN 8 and 9).
    public const int DataFloat = 0, DataHalf = 2, DataBFloat16 = 9;
    public const int FormatNhwc = 1;
    public const int CrossCorrelation = 1;
    public const int TensorOpMath = 1;

    /// <summary>cudnnConvolutionFwdAlgoPerf_t.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct AlgoPerf
    {
        public int Algo;
        public int Status;
        public float Time;
        public nuint Memory;
        public int Determinism;
        public int MathType;
        public fixed int Reserved[3];
    }
}
