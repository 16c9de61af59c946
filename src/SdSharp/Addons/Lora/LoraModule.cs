using SdSharp.IO;

namespace SdSharp.Addons.Lora;

/// <summary>Which network of a checkpoint a LoRA module patches.</summary>
public enum LoraTarget { Unet, TextEncoder, TextEncoder2 }

/// <summary>
/// The tensors a LoRA-family file holds for one layer (kohya's "lora_down.weight", LyCORIS' "hada_w1_a", ...,
/// "alpha"), and the weight change they stand for, computed as A1111's network_*.py modules compute it:
/// <c>ΔW = build(parts) · scale · multiplier</c>, with scale = alpha / rank (1 without alpha), then DoRA's
/// re-normalisation where the file has a dora_scale. All arithmetic is fp32.
/// </summary>
public sealed class LoraModule
{
    private readonly Dictionary<string, TensorEntry> _parts;

    internal LoraModule(string key, LoraTarget target, string module, Dictionary<string, TensorEntry> parts)
    {
        Key = key;
        Target = target;
        Module = module;
        _parts = parts;
    }

    /// <summary>The file's name for the layer, as written ("lora_unet_down_blocks_0_attentions_0_proj_in").</summary>
    public string Key { get; }

    public LoraTarget Target { get; }

    /// <summary>The layer name with the file's prefix removed, flattened ("down_blocks_0_…") or dotted.</summary>
    public string Module { get; }

    public IReadOnlyCollection<string> Parts => _parts.Keys;

    /// <summary>"lora", "loha", "lokr", "full", or null when the parts are of no kind we apply.</summary>
    public string? Kind =>
        Has("lora_up.weight") && Has("lora_down.weight") ? "lora"
        : Has("hada_w1_a") && Has("hada_w1_b") && Has("hada_w2_a") && Has("hada_w2_b") ? "loha"
        : (Has("lokr_w1") || (Has("lokr_w1_a") && Has("lokr_w1_b"))) && (Has("lokr_w2") || (Has("lokr_w2_a") && Has("lokr_w2_b"))) ? "lokr"
        : Has("diff") ? "full"
        : null;

    /// <summary>
    /// The change to a weight of checkpoint-layout <paramref name="shape"/> ([out, in] or [out, in, kh, kw]), fp32,
    /// row-major, multiplier included; <paramref name="original"/> is needed only for DoRA.
    /// </summary>
    public float[] WeightDelta(long[] shape, float multiplier, Func<float[]> original)
    {
        long count = 1;
        foreach (long d in shape) count *= d;
        (float[] delta, int? rank) = Kind switch
        {
            "lora" => Lora(),
            "loha" => LoHa(),
            "lokr" => LoKr(shape),
            "full" => (Read("diff"), (int?)null),
            _ => throw new InvalidOperationException($"{Key}: no LoRA, LoHa, LoKr or full weights among {string.Join(", ", _parts.Keys)}"),
        };
        delta = FitTo(delta, shape, count);
        float scale = Has("scale") ? Scalar("scale") : rank is int r && Has("alpha") ? Scalar("alpha") / r : 1f;
        HostMath.Scale(delta, scale);
        if (Has("dora_scale")) delta = Dora(delta, shape, original());
        HostMath.Scale(delta, multiplier);
        return delta;
    }

    public bool HasBiasDelta => Has("diff_b");

    /// <summary>A full-diff module's bias change ("diff_b"), multiplier included; null when there is none.</summary>
    public float[]? BiasDelta(float multiplier)
    {
        if (!Has("diff_b")) return null;
        float[] b = Read("diff_b");
        HostMath.Scale(b, multiplier);
        return b;
    }

    // ---- the formulas (A1111's lyco_helpers and network_*.py) ----

    /// <summary>up · down, or with a CP "mid" core Σ up[i,n]·mid[n,m,k,l]·down[m,j]; rank = down's rows.</summary>
    private (float[], int?) Lora()
    {
        TensorEntry upEntry = _parts["lora_up.weight"], downEntry = _parts["lora_down.weight"];
        int rank = (int)downEntry.Shape[0];
        int outRows = (int)upEntry.Shape[0];
        float[] up = upEntry.ToFloat32(), down = downEntry.ToFloat32();
        int inner = up.Length / outRows, k = down.Length / rank;
        if (inner != rank) throw Bad($"lora_up has {inner} columns but lora_down {rank} rows");
        if (!Has("lora_mid.weight")) return (HostMath.MatMul(up, down, outRows, rank, k), rank);
        TensorEntry midEntry = _parts["lora_mid.weight"];
        int taps = (int)(midEntry.ElementCount / ((long)rank * rank));
        return (Tucker(midEntry.ToFloat32(), HostMath.Transpose(up, outRows, rank), down, rank, rank, outRows, k, taps), rank);
    }

    /// <summary>(w1a·w1b) ⊙ (w2a·w2b), each factor possibly a Tucker product with hada_t1/hada_t2; rank = w1b's rows.</summary>
    private (float[], int?) LoHa()
    {
        int rank = (int)_parts["hada_w1_b"].Shape[0];
        float[] first = Product("hada_w1_a", "hada_w1_b", "hada_t1");
        float[] second = Product("hada_w2_a", "hada_w2_b", "hada_t2");
        if (first.Length != second.Length) throw Bad("the two Hadamard factors differ in size");
        for (int i = 0; i < first.Length; i++) first[i] *= second[i];
        return (first, rank);
    }

    /// <summary>w1 ⊗ w2 (Kronecker), each given whole or as a low-rank product; rank = w1b's or w2b's rows, if any.</summary>
    private (float[], int?) LoKr(long[] shape)
    {
        int? rank = Has("lokr_w1_b") ? (int)_parts["lokr_w1_b"].Shape[0] : null;
        if (Has("lokr_w2_b")) rank = (int)_parts["lokr_w2_b"].Shape[0];
        (float[] w1, long[] s1) = Has("lokr_w1") ? (Read("lokr_w1"), _parts["lokr_w1"].Shape) : (Product("lokr_w1_a", "lokr_w1_b", null), ProductShape("lokr_w1_a", "lokr_w1_b", null));
        (float[] w2, long[] s2) = Has("lokr_w2") ? (Read("lokr_w2"), _parts["lokr_w2"].Shape) : (Product("lokr_w2_a", "lokr_w2_b", "lokr_t2"), ProductShape("lokr_w2_a", "lokr_w2_b", "lokr_t2"));
        if (s1.Length != 2) throw Bad("lokr_w1 is not a matrix");
        int a = (int)s1[0], b = (int)s1[1], c = (int)s2[0], d = (int)s2[1];
        int taps = s2.Length == 4 ? (int)(s2[2] * s2[3]) : 1;   // a 4-D w2 carries the kernel; w1 is broadcast over it
        var result = new float[(long)a * c * b * d * taps];
        int cols = b * d * taps;
        for (int i = 0; i < a; i++)
            for (int j = 0; j < b; j++)
            {
                float s = w1[i * b + j];
                for (int p = 0; p < c; p++)
                    for (int q = 0; q < d; q++)
                        for (int t = 0; t < taps; t++)
                            result[(long)(i * c + p) * cols + (j * d + q) * taps + t] = s * w2[((long)p * d + q) * taps + t];
            }
        _ = shape;
        return (result, rank);
    }

    /// <summary>a·b, or with a Tucker core t: Σ t[i,j,kl]·a[i,out]·b[j,in] (A1111's make_weight_cp).</summary>
    private float[] Product(string aName, string bName, string? tName)
    {
        TensorEntry aEntry = _parts[aName], bEntry = _parts[bName];
        float[] a = aEntry.ToFloat32(), b = bEntry.ToFloat32();
        int rows = (int)aEntry.Shape[0], inner = (int)bEntry.Shape[0];
        int cols = (int)(bEntry.ElementCount / inner);
        if (tName == null || !Has(tName))
        {
            if (a.Length / rows != inner) throw Bad($"{aName} has {a.Length / rows} columns but {bName} {inner} rows");
            return HostMath.MatMul(a, b, rows, inner, cols);
        }
        TensorEntry t = _parts[tName];
        int r1 = (int)t.Shape[0], r2 = (int)t.Shape[1], taps = (int)(t.ElementCount / ((long)r1 * r2));
        int outputs = (int)(aEntry.ElementCount / r1);   // here a is [r1, out]
        return Tucker(t.ToFloat32(), a, b, r1, r2, outputs, cols, taps);
    }

    private long[] ProductShape(string aName, string bName, string? tName)
    {
        TensorEntry aEntry = _parts[aName], bEntry = _parts[bName];
        long inner = bEntry.Shape[0], cols = bEntry.ElementCount / inner;
        if (tName == null || !Has(tName)) return [aEntry.Shape[0], cols, .. bEntry.Shape.Length == 4 ? bEntry.Shape[2..] : []];
        TensorEntry t = _parts[tName];
        return [aEntry.ElementCount / t.Shape[0], cols, .. t.Shape[2..]];
    }

    /// <summary>result[o, i, kl] = Σ_{n,m} core[n, m, kl] · a[n, o] · b[m, i].</summary>
    private static float[] Tucker(float[] core, float[] a, float[] b, int r1, int r2, int outputs, int inputs, int taps)
    {
        // First contract the core with b over m: [r1, taps, inputs] laid out per (n, kl).
        var coreB = new float[(long)r1 * taps * inputs];
        for (int n = 0; n < r1; n++)
            for (int m = 0; m < r2; m++)
                for (int kl = 0; kl < taps; kl++)
                {
                    float s = core[((long)n * r2 + m) * taps + kl];
                    if (s != 0) HostMath.AddScaled(coreB.AsSpan((int)(((long)n * taps + kl) * inputs), inputs), b.AsSpan(m * inputs, inputs), s);
                }
        // Then with a over n, writing [outputs, inputs, taps].
        var result = new float[(long)outputs * inputs * taps];
        var row = new float[(long)taps * inputs];
        for (int o = 0; o < outputs; o++)
        {
            Array.Clear(row);
            for (int n = 0; n < r1; n++)
            {
                float s = a[(long)n * outputs + o];
                if (s != 0) HostMath.AddScaled(row, coreB.AsSpan((int)((long)n * taps * inputs), taps * inputs), s);
            }
            for (int kl = 0; kl < taps; kl++)
                for (int i = 0; i < inputs; i++) result[((long)o * inputs + i) * taps + kl] = row[kl * inputs + i];
        }
        return result;
    }

    /// <summary>
    /// A1111's finalize_updown: the product must have the weight's element count, except that a change to an
    /// inpainting model's 9-channel input convolution made for 4 channels is zero-padded.
    /// </summary>
    private float[] FitTo(float[] delta, long[] shape, long count)
    {
        if (delta.Length == count) return delta;
        if (shape.Length == 4 && shape[1] == 9 && delta.Length * 9L == count * 4)
        {
            long o = shape[0], taps = shape[2] * shape[3];
            var padded = new float[count];
            for (long i = 0; i < o; i++)
                Array.Copy(delta, i * 4 * taps, padded, i * 9 * taps, 4 * taps);
            return padded;
        }
        throw Bad($"its change has {delta.Length} elements, the layer's weight [{string.Join(", ", shape)}] {count}");
    }

    /// <summary>
    /// DoRA (A1111's apply_weight_decompose): W' = (W + ΔW)·m / ‖W + ΔW‖, the norm taken per input channel
    /// (dora_scale [1, in, …]) or, for LyCORIS' wd_on_out files, per output channel ([out, 1, …]); returns W' − W.
    /// </summary>
    private float[] Dora(float[] delta, long[] shape, float[] weight)
    {
        TensorEntry scaleEntry = _parts["dora_scale"];
        float[] magnitude = scaleEntry.ToFloat32();
        int rows = (int)shape[0], inputs = (int)shape[1];
        int taps = delta.Length / (rows * inputs);
        bool perInput = scaleEntry.Shape.Length >= 2 && scaleEntry.Shape[0] == 1 && magnitude.Length == inputs;
        if (!perInput && magnitude.Length != rows) throw Bad($"dora_scale [{string.Join(", ", scaleEntry.Shape)}] fits neither side of the weight");
        var merged = new float[delta.Length];
        for (int i = 0; i < merged.Length; i++) merged[i] = weight[i] + delta[i];
        var norms = new double[perInput ? inputs : rows];
        for (int o = 0; o < rows; o++)
            for (int i = 0; i < inputs; i++)
                for (int t = 0; t < taps; t++)
                {
                    double v = merged[((long)o * inputs + i) * taps + t];
                    norms[perInput ? i : o] += v * v;
                }
        for (int o = 0; o < rows; o++)
            for (int i = 0; i < inputs; i++)
            {
                int n = perInput ? i : o;
                float factor = (float)(magnitude[n] / Math.Sqrt(norms[n]));
                for (int t = 0; t < taps; t++)
                {
                    long at = ((long)o * inputs + i) * taps + t;
                    delta[at] = merged[at] * factor - weight[at];
                }
            }
        return delta;
    }

    private bool Has(string part) => _parts.ContainsKey(part);
    private float[] Read(string part) => _parts[part].ToFloat32();
    private float Scalar(string part) => (float)_parts[part].ReadAsDouble(0);
    private ModelFormatException Bad(string what) => new($"LoRA layer {Key}: {what}");
}
