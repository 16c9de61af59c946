using System.Runtime.InteropServices;

namespace SdSharp.Cuda.Native;

/// <summary>
/// Finds NVIDIA's libraries where they usually are: the loader's paths (LD_LIBRARY_PATH, ldconfig), CUDA_PATH,
/// /usr/local/cuda, and the nvidia-* wheels pip installs next to PyTorch. Nothing is bundled.
/// </summary>
internal static class CudaLibraries
{
    public static nint LoadDriver() => Load("the CUDA driver (libcuda)", ["libcuda.so.1", "libcuda.so"], []);

    public static nint LoadNvrtc() => Load("NVRTC", ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"], ["cuda_nvrtc", "cu13", "cu12"]);

    public static nint LoadCublasLt() => Load("cuBLASLt", ["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"], ["cublas", "cu13", "cu12"]);

    public static nint LoadCudnn() => Load("cuDNN", ["libcudnn.so.9", "libcudnn.so"], ["cudnn"]);

    private static nint Load(string what, string[] names, string[] wheelFolders)
    {
        foreach (string name in names)
            if (NativeLibrary.TryLoad(name, out nint handle)) return handle;
        foreach (string dir in Directories(wheelFolders))
            foreach (string name in names)
            {
                string path = Path.Combine(dir, name);
                if (File.Exists(path) && NativeLibrary.TryLoad(path, out nint handle)) return handle;
            }
        throw new CudaUnavailableException($"{what} not found (looked for {string.Join(", ", names)} on the loader path, CUDA_PATH, /usr/local/cuda and pip's nvidia-* packages)");
    }

    private static IEnumerable<string> Directories(string[] wheelFolders)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            yield return dir;
        foreach (string? root in new[] { Environment.GetEnvironmentVariable("CUDA_PATH"), Environment.GetEnvironmentVariable("CUDA_HOME"), "/usr/local/cuda" })
        {
            if (string.IsNullOrEmpty(root)) continue;
            yield return Path.Combine(root, "lib64");
            yield return Path.Combine(root, "targets", "x86_64-linux", "lib");
            yield return Path.Combine(root, "targets", "sbsa-linux", "lib");
        }
        foreach (string sitePackages in SitePackages())
            foreach (string folder in wheelFolders)
            {
                string lib = Path.Combine(sitePackages, "nvidia", folder, "lib");
                if (Directory.Exists(lib)) yield return lib;
            }
    }

    /// <summary>Python site-packages folders, where pip puts nvidia-cublas, nvidia-cuda-nvrtc, ...</summary>
    private static IEnumerable<string> SitePackages()
    {
        var roots = new List<string> { "/usr/lib", "/usr/local/lib", "/opt/conda/lib" };
        string home = Environment.GetEnvironmentVariable("HOME") ?? "";
        if (home.Length > 0) roots.Add(Path.Combine(home, ".local", "lib"));
        if (Environment.GetEnvironmentVariable("VIRTUAL_ENV") is string venv) roots.Add(Path.Combine(venv, "lib"));
        if (Directory.Exists("/opt"))
            foreach (string dir in SafeDirectories("/opt"))
            {
                roots.Add(Path.Combine(dir, ".venv", "lib"));
                roots.Add(Path.Combine(dir, "lib"));
            }
        foreach (string root in roots)
            foreach (string python in SafeDirectories(root).Where(d => Path.GetFileName(d).StartsWith("python3", StringComparison.Ordinal)))
                foreach (string kind in new[] { "site-packages", "dist-packages" })
                    if (Directory.Exists(Path.Combine(python, kind))) yield return Path.Combine(python, kind);
    }

    private static IEnumerable<string> SafeDirectories(string path)
    {
        try
        {
            return Directory.Exists(path) ? Directory.GetDirectories(path) : [];
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return [];
        }
    }
}

/// <summary>No usable GPU or NVIDIA library: the CPU backend is the fallback, and this says why in one line.</summary>
public sealed class CudaUnavailableException(string message) : Exception(message);

/// <summary>A CUDA, NVRTC or cuBLASLt call failed.</summary>
public sealed class CudaException(string message) : Exception(message);
