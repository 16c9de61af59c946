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

internal struct ReluOp : IUnaryOp
{
    public static Vector<float> Apply(Vector<float> x) => Vector.Max(x, Vector<float>.Zero);
    public static float Apply(float x) => MathF.Max(x, 0f);
}

internal struct LeakyReluOp : IUnaryOp
{
    public static Vector<float> Apply(Vector<float> x) => Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x, Vector<float>.Zero), x, x * new Vector<float>(0.01f));
    public static float Apply(float x) => x >= 0 ? x : 0.01f * x;
}

internal struct EluOp : IUnaryOp
{
    public static Vector<float> Apply(Vector<float> x) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), x, Vector.Exp(Vector.Min(x, Vector<float>.Zero)) - Vector<float>.One);
    public static float Apply(float x) => x > 0 ? x : MathF.Exp(x) - 1f;
}

internal struct SeluOp : IUnaryOp
{
    private const float Scale = 1.0507009873554804934f, Alpha = 1.6732632423543772848f;
    public static Vector<float> Apply(Vector<float> x) => new Vector<float>(Scale) *
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), x, new Vector<float>(Alpha) * (Vector.Exp(Vector.Min(x, Vector<float>.Zero)) - Vector<float>.One));
    public static float Apply(float x) => Scale * (x > 0 ? x : Alpha * (MathF.Exp(x) - 1f));
}

internal struct Relu6Op : IUnaryOp
{
    public static Vector<float> Apply(Vector<float> x) => Vector.Min(Vector.Max(x, Vector<float>.Zero), new Vector<float>(6f));
    public static float Apply(float x) => MathF.Min(MathF.Max(x, 0f), 6f);
}

internal struct HardsigmoidOp : IUnaryOp
{
    public static Vector<float> Apply(Vector<float> x) => Relu6Op.Apply(x + new Vector<float>(3f)) / new Vector<float>(6f);
    public static float Apply(float x) => Relu6Op.Apply(x + 3f) / 6f;
}

internal struct HardswishOp : IUnaryOp
{
    public static Vector<float> Apply(Vector<float> x) => x * HardsigmoidOp.Apply(x);
    public static float Apply(float x) => x * HardsigmoidOp.Apply(x);
}

internal struct TanhOp : IUnaryOp
{
    public static Vector<float> Apply(Vector<float> x) => VectorMath.Tanh(x);
    public static float Apply(float x) => MathF.Tanh(x);
}

internal struct SigmoidOp : IUnaryOp
{
    public static Vector<float> Apply(Vector<float> x) => VectorMath.Sigmoid(x);
    public static float Apply(float x) => VectorMath.Sigmoid(x);
}

internal struct SoftplusOp : IUnaryOp
{
    // max(x, 0) + log1p(e^-|x|) does not overflow; torch returns x itself above its threshold of 20. log1p(e) is
    // log(u)·e/(u − 1) with u = 1 + e (Goldberg's trick), exact where log(1 + e) would round e away.
    public static Vector<float> Apply(Vector<float> x)
    {
        var e = Vector.Exp(-Vector.Abs(x));
        var u = Vector<float>.One + e;
        var d = u - Vector<float>.One;
        var log1p = Vector.ConditionalSelect(Vector.Equals(d, Vector<float>.Zero), e, Vector.Log(u) * e / d);
        return Vector.ConditionalSelect(Vector.GreaterThan(x, new Vector<float>(20f)), x, Vector.Max(x, Vector<float>.Zero) + log1p);
    }

    public static float Apply(float x)
    {
        if (x > 20f) return x;
        float e = MathF.Exp(-MathF.Abs(x)), u = 1f + e, d = u - 1f;
        return MathF.Max(x, 0f) + (d == 0f ? e : MathF.Log(u) * e / d);
    }
}

internal struct MishOp : IUnaryOp
{
    public static Vector<float> Apply(Vector<float> x) => x * VectorMath.Tanh(SoftplusOp.Apply(x));
    public static float Apply(float x) => x * MathF.Tanh(SoftplusOp.Apply(x));
}

internal struct SoftsignOp : IUnaryOp
{
    public static Vector<float> Apply(Vector<float> x) => x / (Vector<float>.One + Vector.Abs(x));
    public static float Apply(float x) => x / (1f + MathF.Abs(x));
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
            case Activation.Relu: Map<ReluOp>(x, y, n); break;
            case Activation.LeakyRelu: Map<LeakyReluOp>(x, y, n); break;
            case Activation.Elu: Map<EluOp>(x, y, n); break;
            case Activation.Hardswish: Map<HardswishOp>(x, y, n); break;
            case Activation.Tanh: Map<TanhOp>(x, y, n); break;
            case Activation.Sigmoid: Map<SigmoidOp>(x, y, n); break;
            case Activation.Mish: Map<MishOp>(x, y, n); break;
            case Activation.Softplus: Map<SoftplusOp>(x, y, n); break;
            case Activation.Softsign: Map<SoftsignOp>(x, y, n); break;
            case Activation.Selu: Map<SeluOp>(x, y, n); break;
            case Activation.Relu6: Map<Relu6Op>(x, y, n); break;
            case Activation.Hardsigmoid: Map<HardsigmoidOp>(x, y, n); break;
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
