namespace SdSharp.Sampling;

/// <summary>
/// The beta distribution's inverse CDF (scipy's <c>stats.beta.ppf</c>) to full double precision, for A1111's
/// "Beta" schedule. The regularized incomplete beta comes from its continued fraction; the inverse is found by
/// bisection down to adjacent doubles, so the result is as exact as the CDF itself (~1e-15).
/// </summary>
internal static class BetaDistribution
{
    public static double Ppf(double p, double a, double b)
    {
        if (p <= 0) return 0;
        if (p >= 1) return 1;
        double lo = 0, hi = 1;
        for (int i = 0; i < 2000; i++)
        {
            double mid = 0.5 * (lo + hi);
            if (mid <= lo || mid >= hi) break;
            if (Cdf(mid, a, b) < p) lo = mid; else hi = mid;
        }
        // Of the two bracketing doubles, the one whose CDF is closer to p.
        return Math.Abs(Cdf(lo, a, b) - p) <= Math.Abs(Cdf(hi, a, b) - p) ? lo : hi;
    }

    /// <summary>The regularized incomplete beta function I_x(a, b).</summary>
    public static double Cdf(double x, double a, double b)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        double front = Math.Exp(LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x));
        // The continued fraction converges fast below the mean; above it, use I_x(a,b) = 1 − I_{1−x}(b,a).
        return x < (a + 1) / (a + b + 2)
            ? front * ContinuedFraction(x, a, b) / a
            : 1 - front * ContinuedFraction(1 - x, b, a) / b;
    }

    /// <summary>Lentz's evaluation of the incomplete beta continued fraction.</summary>
    private static double ContinuedFraction(double x, double a, double b)
    {
        const double tiny = 1e-300;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        if (Math.Abs(d) < tiny) d = tiny;
        d = 1 / d;
        double result = d;
        for (int m = 1; m <= 10000; m++)
        {
            int m2 = 2 * m;
            double even = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
            d = 1 + even * d; if (Math.Abs(d) < tiny) d = tiny;
            c = 1 + even / c; if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            result *= d * c;
            double odd = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            d = 1 + odd * d; if (Math.Abs(d) < tiny) d = tiny;
            c = 1 + odd / c; if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            double delta = d * c;
            result *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return result;
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, 9 terms: ~1e-15 relative).</summary>
    public static double LogGamma(double x)
    {
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        ReadOnlySpan<double> g =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7,
        ];
        x -= 1;
        double sum = g[0];
        for (int i = 1; i < g.Length; i++) sum += g[i] / (x + i);
        double t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
