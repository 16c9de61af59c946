using System.Numerics;
using System.Runtime.CompilerServices;
using SdSharp.Tensors;

namespace SdSharp.Cpu;

/// <summary>A unary function in vector and scalar form; generic loops over it are specialised by the JIT.</summary>
internal interface IUnaryOp
{
    static abstract Vector<float> Apply(Vector<float> x);
    static abstract float Apply(float x);
}

internal struct SiluOp : IUnaryOp
{
    public static Vector<float> Apply(Vector<float> x) => x * VectorMath.Sigmoid(x);
    public static float Apply(float x) => x * VectorMath.Sigmoid(x);
}

internal struct GeluOp : IUnaryOp
{
    private const float InvSqrt2 = 0.70710678118654752f;
    public static Vector<float> Apply(Vector<float> x) => new Vector<float>(0.5f) * x * (Vector<float>.One + VectorMath.Erf(x * new Vector<float>(InvSqrt2)));
    public static float Apply(float x) => 0.5f * x * (1f + VectorMath.Erf(x * InvSqrt2));
}

internal struct GeluTanhOp : IUnaryOp
{
    private const float C = 0.7978845608028654f; // √(2/π)
    public static Vector<float> Apply(Vector<float> x)
    {
        var inner = new Vector<float>(C) * (x + new Vector<float>(0.044715f) * x * x * x);
        return new Vector<float>(0.5f) * x * (Vector<float>.One + VectorMath.Tanh(inner));
    }
    public static float Apply(float x) => 0.5f * x * (1f + MathF.Tanh(C * (x + 0.044715f * x * x * x)));
}

internal struct QuickGeluOp : IUnaryOp
{
    public static Vector<float> Apply(Vector<float> x) => x * VectorMath.Sigmoid(new Vector<float>(1.702f) * x);
    public static float Apply(float x) => x * VectorMath.Sigmoid(1.702f * x);
}

internal struct ExpOp : IUnaryOp
{
    public static Vector<float> Apply(Vector<float> x) => Vector.Exp(x);
    public static float Apply(float x) => MathF.Exp(x);
}

internal struct IdentityOp : IUnaryOp
{
    public static Vector<float> Apply(Vector<float> x) => x;
    public static float Apply(float x) => x;
}

internal interface IBinaryOp
{
    static abstract Vector<float> Apply(Vector<float> a, Vector<float> b);
    static abstract float Apply(float a, float b);
}

internal struct AddOp : IBinaryOp
{
    public static Vector<float> Apply(Vector<float> a, Vector<float> b) => a + b;
    public static float Apply(float a, float b) => a + b;
}

internal struct SubtractOp : IBinaryOp
{
    public static Vector<float> Apply(Vector<float> a, Vector<float> b) => a - b;
    public static float Apply(float a, float b) => a - b;
}

internal struct MultiplyOp : IBinaryOp
{
    public static Vector<float> Apply(Vector<float> a, Vector<float> b) => a * b;
    public static float Apply(float a, float b) => a * b;
}

/// <summary>Loops over contiguous float ranges.</summary>
internal static unsafe class ElementwiseKernels
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Map<TOp>(float* x, float* y, long n) where TOp : struct, IUnaryOp
    {
        long i = 0, w = Vector<float>.Count;
        for (; i <= n - w; i += w) TOp.Apply(Vector.Load(x + i)).Store(y + i);
        for (; i < n; i++) y[i] = TOp.Apply(x[i]);
    }

    public static void Activate(Activation function, float* x, float* y, long n)
    {
        switch (function)
        {
            case Activation.Silu: Map<SiluOp>(x, y, n); break;
            case Activation.Gelu: Map<GeluOp>(x, y, n); break;
            case Activation.GeluTanh: Map<GeluTanhOp>(x, y, n); break;
            case Activation.QuickGelu: Map<QuickGeluOp>(x, y, n); break;
            case Activation.Exp: Map<ExpOp>(x, y, n); break;
            default: throw new ArgumentOutOfRangeException(nameof(function));
        }
    }

    /// <summary>y[i] = a[i] (op) b[i] for n elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Zip<TOp>(float* a, float* b, float* y, long n) where TOp : struct, IBinaryOp
    {
        long i = 0, w = Vector<float>.Count;
        for (; i <= n - w; i += w) TOp.Apply(Vector.Load(a + i), Vector.Load(b + i)).Store(y + i);
        for (; i < n; i++) y[i] = TOp.Apply(a[i], b[i]);
    }

    /// <summary>y[i] = a[i] (op) scalar.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ZipScalar<TOp>(float* a, float b, float* y, long n) where TOp : struct, IBinaryOp
    {
        long i = 0, w = Vector<float>.Count;
        var bv = new Vector<float>(b);
        for (; i <= n - w; i += w) TOp.Apply(Vector.Load(a + i), bv).Store(y + i);
        for (; i < n; i++) y[i] = TOp.Apply(a[i], b);
    }

    public static void Binary(BinaryOp op, float* a, float* b, float* y, long n, bool bIsScalar)
    {
        switch (op)
        {
            case BinaryOp.Add: if (bIsScalar) ZipScalar<AddOp>(a, *b, y, n); else Zip<AddOp>(a, b, y, n); break;
            case BinaryOp.Subtract: if (bIsScalar) ZipScalar<SubtractOp>(a, *b, y, n); else Zip<SubtractOp>(a, b, y, n); break;
            case BinaryOp.Multiply: if (bIsScalar) ZipScalar<MultiplyOp>(a, *b, y, n); else Zip<MultiplyOp>(a, b, y, n); break;
            default: throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    /// <summary>y = α·x + β·z.</summary>
    public static void Axpby(float alpha, float* x, float beta, float* z, float* y, long n)
    {
        long i = 0, w = Vector<float>.Count;
        var va = new Vector<float>(alpha);
        var vb = new Vector<float>(beta);
        for (; i <= n - w; i += w) Vector.FusedMultiplyAdd(va, Vector.Load(x + i), vb * Vector.Load(z + i)).Store(y + i);
        for (; i < n; i++) y[i] = alpha * x[i] + beta * z[i];
    }

    /// <summary>y = x·scale + shift.</summary>
    public static void Affine(float* x, float scale, float shift, float* y, long n)
    {
        long i = 0, w = Vector<float>.Count;
        var vs = new Vector<float>(scale);
        var vt = new Vector<float>(shift);
        for (; i <= n - w; i += w) Vector.FusedMultiplyAdd(Vector.Load(x + i), vs, vt).Store(y + i);
        for (; i < n; i++) y[i] = x[i] * scale + shift;
    }

    /// <summary>y = min(max(x, lo), hi).</summary>
    public static void Clamp(float* x, float lo, float hi, float* y, long n)
    {
        long i = 0, w = Vector<float>.Count;
        var vl = new Vector<float>(lo);
        var vh = new Vector<float>(hi);
        for (; i <= n - w; i += w) Vector.Min(Vector.Max(Vector.Load(x + i), vl), vh).Store(y + i);
        for (; i < n; i++) y[i] = MathF.Min(MathF.Max(x[i], lo), hi);
    }

    /// <summary>y = x·scale[c] + shift[c] per channel of a row of C channels, then an optional activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ScaleShiftRow<TOp>(float* x, float* scale, float* shift, float* y, int channels) where TOp : struct, IUnaryOp
    {
        int i = 0, w = Vector<float>.Count;
        for (; i <= channels - w; i += w)
            TOp.Apply(Vector.FusedMultiplyAdd(Vector.Load(x + i), Vector.Load(scale + i), Vector.Load(shift + i))).Store(y + i);
        for (; i < channels; i++) y[i] = TOp.Apply(x[i] * scale[i] + shift[i]);
    }

    /// <summary>GEGLU on one row: y[j] = x[j] · GELU(x[n + j]) for j &lt; n.</summary>
    public static void GegluRow(float* x, float* y, int n)
    {
        int j = 0, w = Vector<float>.Count;
        for (; j <= n - w; j += w) (Vector.Load(x + j) * GeluOp.Apply(Vector.Load(x + n + j))).Store(y + j);
        for (; j < n; j++) y[j] = x[j] * GeluOp.Apply(x[n + j]);
    }
}
