using System.Numerics;
using System.Runtime.CompilerServices;

namespace SdSharp.Cpu;

/// <summary>Vectorised transcendental functions the activations need, with scalar twins for loop tails.</summary>
internal static class VectorMath
{
    // Abramowitz & Stegun 7.1.26: |error| ≤ 1.5e-7, below fp32 resolution of erf near ±1.
    private const float P = 0.3275911f, A1 = 0.254829592f, A2 = -0.284496736f, A3 = 1.421413741f, A4 = -1.453152027f, A5 = 1.061405429f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Erf(Vector<float> x)
    {
        var ax = Vector.Abs(x);
        var t = Vector<float>.One / (Vector<float>.One + new Vector<float>(P) * ax);
        var poly = Vector.FusedMultiplyAdd(t, new Vector<float>(A5), new Vector<float>(A4));
        poly = Vector.FusedMultiplyAdd(t, poly, new Vector<float>(A3));
        poly = Vector.FusedMultiplyAdd(t, poly, new Vector<float>(A2));
        poly = Vector.FusedMultiplyAdd(t, poly, new Vector<float>(A1));
        var y = Vector<float>.One - poly * t * Vector.Exp(-(ax * ax));
        return Vector.ConditionalSelect(Vector.LessThan(x, Vector<float>.Zero), -y, y);
    }

    public static float Erf(float x)
    {
        float ax = MathF.Abs(x);
        float t = 1f / (1f + P * ax);
        float poly = (((A5 * t + A4) * t + A3) * t + A2) * t + A1;
        float y = 1f - poly * t * MathF.Exp(-ax * ax);
        return x < 0 ? -y : y;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Sigmoid(Vector<float> x) => Vector<float>.One / (Vector<float>.One + Vector.Exp(-x));

    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>tanh(x) = 1 − 2/(e^{2x}+1): saturates cleanly to ±1 when e^{2x} over- or underflows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Tanh(Vector<float> x) =>
        Vector<float>.One - new Vector<float>(2f) / (Vector.Exp(x + x) + Vector<float>.One);
}
