using System.Runtime.InteropServices;
using System.Text;

namespace SdSharp.Cuda.Native;

/// <summary>NVRTC: compiles the kernel sources to machine code for the device at run time.</summary>
internal sealed unsafe class Nvrtc
{
    private readonly delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int> _create;
    private readonly delegate* unmanaged<nint, int, byte**, int> _compile;
    private readonly delegate* unmanaged<nint, nuint*, int> _logSize;
    private readonly delegate* unmanaged<nint, byte*, int> _log;
    private readonly delegate* unmanaged<nint, nuint*, int> _cubinSize;
    private readonly delegate* unmanaged<nint, byte*, int> _cubin;
    private readonly delegate* unmanaged<nint, nuint*, int> _ptxSize;
    private readonly delegate* unmanaged<nint, byte*, int> _ptx;
    private readonly delegate* unmanaged<nint*, int> _destroy;
    private readonly delegate* unmanaged<int*, int*, int> _version;
    private readonly delegate* unmanaged<int*, int> _numSupportedArchs;
    private readonly delegate* unmanaged<int*, int> _supportedArchs;

    public Nvrtc(nint lib)
    {
        nint F(string name) => NativeLibrary.GetExport(lib, name);
        _create = (delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int>)F("nvrtcCreateProgram");
        _compile = (delegate* unmanaged<nint, int, byte**, int>)F("nvrtcCompileProgram");
        _logSize = (delegate* unmanaged<nint, nuint*, int>)F("nvrtcGetProgramLogSize");
        _log = (delegate* unmanaged<nint, byte*, int>)F("nvrtcGetProgramLog");
        _cubinSize = (delegate* unmanaged<nint, nuint*, int>)F("nvrtcGetCUBINSize");
        _cubin = (delegate* unmanaged<nint, byte*, int>)F("nvrtcGetCUBIN");
        _ptxSize = (delegate* unmanaged<nint, nuint*, int>)F("nvrtcGetPTXSize");
        _ptx = (delegate* unmanaged<nint, byte*, int>)F("nvrtcGetPTX");
        _destroy = (delegate* unmanaged<nint*, int>)F("nvrtcDestroyProgram");
        _version = (delegate* unmanaged<int*, int*, int>)F("nvrtcVersion");
        _numSupportedArchs = (delegate* unmanaged<int*, int>)F("nvrtcGetNumSupportedArchs");
        _supportedArchs = (delegate* unmanaged<int*, int>)F("nvrtcGetSupportedArchs");
    }

    public string Version
    {
        get
        {
            int major, minor;
            _version(&major, &minor);
            return $"{major}.{minor}";
        }
    }

    /// <summary>The SM versions NVRTC can emit machine code for (e.g. 90 for sm_90).</summary>
    public int[] SupportedArchitectures()
    {
        int n;
        if (_numSupportedArchs(&n) != 0 || n <= 0) return [];
        var archs = new int[n];
        fixed (int* p = archs) _supportedArchs(p);
        return archs;
    }

    /// <summary>Compiles a source; returns a cubin (machine code) or, for "compute_XX" targets, PTX for the driver to finish.</summary>
    public byte[] Compile(string source, string name, string[] options)
    {
        nint program;
        byte[] src = Encoding.UTF8.GetBytes(source + "\0"), nm = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* s = src, n = nm) Check(_create(&program, s, n, 0, null, null), "nvrtcCreateProgram");
        try
        {
            var handles = options.Select(o => Marshal.StringToHGlobalAnsi(o)).ToArray();
            int result;
            try
            {
                fixed (nint* h = handles) result = _compile(program, handles.Length, (byte**)h);
            }
            finally
            {
                foreach (nint h in handles) Marshal.FreeHGlobal(h);
            }
            if (result != 0) throw new CudaException($"NVRTC could not compile {name}: {Log(program)}");
            bool ptx = options.Any(o => o.Contains("compute_", StringComparison.Ordinal));
            nuint size;
            Check(ptx ? _ptxSize(program, &size) : _cubinSize(program, &size), "nvrtcGet size");
            var code = new byte[size];
            fixed (byte* c = code) Check(ptx ? _ptx(program, c) : _cubin(program, c), "nvrtcGet code");
            return code;
        }
        finally
        {
            _destroy(&program);
        }
    }

    private string Log(nint program)
    {
        nuint size;
        if (_logSize(program, &size) != 0 || size == 0) return "(no log)";
        var log = new byte[size];
        fixed (byte* l = log) _log(program, l);
        return Encoding.UTF8.GetString(log).TrimEnd('\0').Trim();
    }

    private static void Check(int result, string call)
    {
        if (result != 0) throw new CudaException($"{call} failed (NVRTC error {result})");
    }
}
