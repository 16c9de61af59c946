using System.Runtime.InteropServices;

namespace SdSharp.Cuda.Native;

/// <summary>The CUDA driver API calls SdSharp uses, bound at run time from libcuda.</summary>
internal sealed unsafe class Driver
{
    public readonly delegate* unmanaged<uint, int> cuInit;
    public readonly delegate* unmanaged<int*, int> cuDeviceGetCount;
    public readonly delegate* unmanaged<int*, int, int> cuDeviceGet;
    public readonly delegate* unmanaged<byte*, int, int, int> cuDeviceGetName;
    public readonly delegate* unmanaged<int*, int, int, int> cuDeviceGetAttribute;
    public readonly delegate* unmanaged<nuint*, int, int> cuDeviceTotalMem;
    public readonly delegate* unmanaged<nint*, int, int> cuDevicePrimaryCtxRetain;
    public readonly delegate* unmanaged<int, int> cuDevicePrimaryCtxRelease;
    public readonly delegate* unmanaged<nint, int> cuCtxSetCurrent;
    public readonly delegate* unmanaged<nuint*, nuint*, int> cuMemGetInfo;
    public readonly delegate* unmanaged<nint*, uint, int> cuStreamCreate;
    public readonly delegate* unmanaged<nint, int> cuStreamSynchronize;
    public readonly delegate* unmanaged<nint, int> cuStreamDestroy;
    public readonly delegate* unmanaged<ulong*, nuint, int> cuMemAlloc;
    public readonly delegate* unmanaged<ulong, int> cuMemFree;
    public readonly delegate* unmanaged<void**, nuint, int> cuMemAllocHost;
    public readonly delegate* unmanaged<void*, int> cuMemFreeHost;
    public readonly delegate* unmanaged<ulong, void*, nuint, nint, int> cuMemcpyHtoDAsync;
    public readonly delegate* unmanaged<void*, ulong, nuint, nint, int> cuMemcpyDtoHAsync;
    public readonly delegate* unmanaged<ulong, ulong, nuint, nint, int> cuMemcpyDtoDAsync;
    public readonly delegate* unmanaged<ulong, byte, nuint, nint, int> cuMemsetD8Async;
    public readonly delegate* unmanaged<ulong, uint, nuint, nint, int> cuMemsetD32Async;
    public readonly delegate* unmanaged<nint*, void*, int> cuModuleLoadData;
    public readonly delegate* unmanaged<nint*, nint, byte*, int> cuModuleGetFunction;
    public readonly delegate* unmanaged<nint, int> cuModuleUnload;
    public readonly delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int> cuLaunchKernel;
    public readonly delegate* unmanaged<nint, int, int, int> cuFuncSetAttribute;
    public readonly delegate* unmanaged<nint*, uint, int> cuEventCreate;
    public readonly delegate* unmanaged<nint, nint, int> cuEventRecord;
    public readonly delegate* unmanaged<nint, int> cuEventSynchronize;
    public readonly delegate* unmanaged<float*, nint, nint, int> cuEventElapsedTime;
    public readonly delegate* unmanaged<nint, int> cuEventDestroy;
    public readonly delegate* unmanaged<nint, int, int> cuStreamBeginCapture;
    public readonly delegate* unmanaged<nint, nint*, int> cuStreamEndCapture;
    public readonly delegate* unmanaged<nint*, nint, ulong, int> cuGraphInstantiateWithFlags;
    public readonly delegate* unmanaged<nint, nint, int> cuGraphLaunch;
    public readonly delegate* unmanaged<nint, int> cuGraphExecDestroy;
    public readonly delegate* unmanaged<nint, int> cuGraphDestroy;
    public readonly delegate* unmanaged<int, byte**, int> cuGetErrorString;

    public Driver(nint lib)
    {
        nint F(string name) => NativeLibrary.GetExport(lib, name);
        cuInit = (delegate* unmanaged<uint, int>)F("cuInit");
        cuDeviceGetCount = (delegate* unmanaged<int*, int>)F("cuDeviceGetCount");
        cuDeviceGet = (delegate* unmanaged<int*, int, int>)F("cuDeviceGet");
        cuDeviceGetName = (delegate* unmanaged<byte*, int, int, int>)F("cuDeviceGetName");
        cuDeviceGetAttribute = (delegate* unmanaged<int*, int, int, int>)F("cuDeviceGetAttribute");
        cuDeviceTotalMem = (delegate* unmanaged<nuint*, int, int>)F("cuDeviceTotalMem_v2");
        cuDevicePrimaryCtxRetain = (delegate* unmanaged<nint*, int, int>)F("cuDevicePrimaryCtxRetain");
        cuDevicePrimaryCtxRelease = (delegate* unmanaged<int, int>)F("cuDevicePrimaryCtxRelease_v2");
        cuCtxSetCurrent = (delegate* unmanaged<nint, int>)F("cuCtxSetCurrent");
        cuMemGetInfo = (delegate* unmanaged<nuint*, nuint*, int>)F("cuMemGetInfo_v2");
        cuStreamCreate = (delegate* unmanaged<nint*, uint, int>)F("cuStreamCreate");
        cuStreamSynchronize = (delegate* unmanaged<nint, int>)F("cuStreamSynchronize");
        cuStreamDestroy = (delegate* unmanaged<nint, int>)F("cuStreamDestroy_v2");
        cuMemAlloc = (delegate* unmanaged<ulong*, nuint, int>)F("cuMemAlloc_v2");
        cuMemFree = (delegate* unmanaged<ulong, int>)F("cuMemFree_v2");
        cuMemAllocHost = (delegate* unmanaged<void**, nuint, int>)F("cuMemAllocHost_v2");
        cuMemFreeHost = (delegate* unmanaged<void*, int>)F("cuMemFreeHost");
        cuMemcpyHtoDAsync = (delegate* unmanaged<ulong, void*, nuint, nint, int>)F("cuMemcpyHtoDAsync_v2");
        cuMemcpyDtoHAsync = (delegate* unmanaged<void*, ulong, nuint, nint, int>)F("cuMemcpyDtoHAsync_v2");
        cuMemcpyDtoDAsync = (delegate* unmanaged<ulong, ulong, nuint, nint, int>)F("cuMemcpyDtoDAsync_v2");
        cuMemsetD8Async = (delegate* unmanaged<ulong, byte, nuint, nint, int>)F("cuMemsetD8Async");
        cuMemsetD32Async = (delegate* unmanaged<ulong, uint, nuint, nint, int>)F("cuMemsetD32Async");
        cuModuleLoadData = (delegate* unmanaged<nint*, void*, int>)F("cuModuleLoadData");
        cuModuleGetFunction = (delegate* unmanaged<nint*, nint, byte*, int>)F("cuModuleGetFunction");
        cuModuleUnload = (delegate* unmanaged<nint, int>)F("cuModuleUnload");
        cuLaunchKernel = (delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int>)F("cuLaunchKernel");
        cuFuncSetAttribute = (delegate* unmanaged<nint, int, int, int>)F("cuFuncSetAttribute");
        cuEventCreate = (delegate* unmanaged<nint*, uint, int>)F("cuEventCreate");
        cuEventRecord = (delegate* unmanaged<nint, nint, int>)F("cuEventRecord");
        cuEventSynchronize = (delegate* unmanaged<nint, int>)F("cuEventSynchronize");
        cuEventElapsedTime = (delegate* unmanaged<float*, nint, nint, int>)F("cuEventElapsedTime");
        cuEventDestroy = (delegate* unmanaged<nint, int>)F("cuEventDestroy_v2");
        cuStreamBeginCapture = (delegate* unmanaged<nint, int, int>)F("cuStreamBeginCapture_v2");
        cuStreamEndCapture = (delegate* unmanaged<nint, nint*, int>)F("cuStreamEndCapture");
        cuGraphInstantiateWithFlags = (delegate* unmanaged<nint*, nint, ulong, int>)F("cuGraphInstantiateWithFlags");
        cuGraphLaunch = (delegate* unmanaged<nint, nint, int>)F("cuGraphLaunch");
        cuGraphExecDestroy = (delegate* unmanaged<nint, int>)F("cuGraphExecDestroy");
        cuGraphDestroy = (delegate* unmanaged<nint, int>)F("cuGraphDestroy");
        cuGetErrorString = (delegate* unmanaged<int, byte**, int>)F("cuGetErrorString");
    }

    public void Check(int result, string call)
    {
        if (result == 0) return;
        byte* text = null;
        cuGetErrorString(result, &text);
        string message = text == null ? $"error {result}" : Marshal.PtrToStringAnsi((nint)text) ?? $"error {result}";
        throw new CudaException($"{call} failed: {message} ({result})");
    }

    public const int AttributeComputeCapabilityMajor = 75;
    public const int AttributeComputeCapabilityMinor = 76;
    public const int AttributeMultiprocessorCount = 16;
    public const int FunctionMaxDynamicSharedMemory = 8;
}
