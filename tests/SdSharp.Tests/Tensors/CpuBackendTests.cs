using SdSharp.Cpu;
using SdSharp.IO;
using SdSharp.Tensors;

namespace SdSharp.Tests.Tensors;

public sealed class CpuBackendTests : IDisposable
{
    private readonly CpuBackend _cpu = new(threads: 2);

    public void Dispose() => _cpu.Dispose();

    private Tensor Upload(float[] data, params int[] shape) => _cpu.FromHost(data, new Shape(shape));

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(13, 33, 17)]     // every edge of the 12×32 tile and the 16-wide half panel
    [InlineData(77, 768, 768)]   // CLIP: few rows, the column panels are split between threads
    [InlineData(300, 50, 700)]   // two k blocks
    [InlineData(145, 320, 320)]  // row blocks of 144 plus one row
    public void LinearMatchesReference(int m, int n, int k)
    {
        var x = Reference.Random(m * k, 1);
        var w = Reference.Random(n * k, 2);
        var bias = Reference.Random(n, 3);
        var residual = Reference.Random(m * n, 4);
        using var file = new MemoryTensorFile();
        using var weight = _cpu.LoadWeight(file.Add("w", w, ElementType.F32, n, k));
        using var tb = Upload(bias, n);
        using var tr = Upload(residual, m, n);
        using var tx = Upload(x, m, k);
        using var y = _cpu.Linear(tx, weight, tb, tr);
        Assert.Equal(new Shape(m, n), y.Shape);
        Reference.AssertClose(Reference.Linear(x, w, bias, residual, m, n, k), y.ToArray(), 1e-4 * Math.Sqrt(k), "linear");
    }

    [Theory]
    [InlineData(ElementType.F16)]
    [InlineData(ElementType.BF16)]
    public void LinearUses16BitWeightsInPlace(ElementType type)
    {
        int m = 20, n = 40, k = 70;
        var x = Reference.Random(m * k, 5);
        var w = Reference.Random(n * k, 6);
        using var file = new MemoryTensorFile();
        var entry = file.Add("w", w, type, n, k);
        using var weight = _cpu.LoadWeight(entry);
        Assert.Equal(type == ElementType.F16 ? DType.F16 : DType.BF16, weight.DType);
        // The expected product uses the weights as rounded to 16 bits.
        var rounded = entry.ToFloat32();
        using var tx = Upload(x, 2, 10, k);
        using var y = _cpu.Linear(tx, weight);
        Assert.Equal(new Shape(2, 10, n), y.Shape);
        Reference.AssertClose(Reference.Linear(x, rounded, null, null, m, n, k), y.ToArray(), 1e-4, "16-bit linear");
    }

    [Theory]
    [InlineData(1, 9, 11, 5, 7, 3, 1, 1, 1, 1, 1, false)]
    [InlineData(2, 8, 8, 16, 20, 3, 2, 1, 1, 1, 1, false)]   // stride-2 downsampler
    [InlineData(1, 9, 9, 6, 13, 3, 2, 0, 0, 1, 1, false)]    // the VAE encoder's (0,1,0,1) padding
    [InlineData(1, 7, 6, 4, 5, 3, 1, 1, 1, 1, 1, true)]      // circular padding (tiling)
    [InlineData(2, 5, 5, 12, 33, 1, 1, 0, 0, 0, 0, false)]   // pointwise
    [InlineData(1, 6, 6, 300, 7, 3, 1, 1, 1, 1, 1, false)]   // depth 2700: k blocks cut through taps
    public void Conv2dMatchesReference(int batch, int h, int w, int cin, int cout, int k, int stride,
        int pt, int pl, int pb, int pr, bool circular)
    {
        var x = Reference.Random(batch * h * w * cin, 7);
        var wOihw = Reference.Random(cout * cin * k * k, 8);
        var bias = Reference.Random(cout, 9);
        using var file = new MemoryTensorFile();
        using var weight = _cpu.LoadWeight(file.Add("conv.weight", wOihw, ElementType.F32, cout, cin, k, k));
        Assert.Equal(new Shape(cout, k, k, cin), weight.Shape);
        var wOhwi = weight.ToArray();
        // The loaded layout is the checkpoint's OIHW turned into OHWI.
        Assert.Equal(wOihw[((3 % cout) * cin + 1 % cin) * k * k + (k - 1) * k + 0], wOhwi[(((3 % cout) * k + (k - 1)) * k + 0) * cin + 1 % cin]);
        using var tb = Upload(bias, cout);
        using var tx = Upload(x, batch, h, w, cin);
        var options = new Conv2dOptions(stride, pt, pl, pb, pr, circular ? PaddingMode.Circular : PaddingMode.Zeros);
        using var y = _cpu.Conv2d(tx, weight, tb, options);
        var expected = Reference.Conv2d(x, wOhwi, bias, batch, h, w, cin, cout, k, k, stride, pt, pl, pb, pr, circular);
        Reference.AssertClose(expected, y.ToArray(), 1e-4 * Math.Sqrt(cin * k * k), "conv");
    }

    [Fact]
    public void Conv2dAddsResidualAndUses16BitWeights()
    {
        var x = Reference.Random(2 * 5 * 5 * 8, 10);
        var w = Reference.Random(6 * 8 * 9, 11);
        var residual = Reference.Random(2 * 5 * 5 * 6, 12);
        using var file = new MemoryTensorFile();
        using var weight = _cpu.LoadWeight(file.Add("conv.weight", w, ElementType.F16, 6, 8, 3, 3));
        Assert.Equal(DType.F16, weight.DType);
        using var tx = Upload(x, 2, 5, 5, 8);
        using var tr = Upload(residual, 2, 5, 5, 6);
        using var y = _cpu.Conv2d(tx, weight, null, new Conv2dOptions(1, 1), tr);
        var expected = Reference.Conv2d(x, weight.ToArray(), null, 2, 5, 5, 8, 6, 3, 3, 1, 1, 1, 1, 1, false);
        for (int i = 0; i < expected.Length; i++) expected[i] += residual[i];
        Reference.AssertClose(expected, y.ToArray(), 1e-4, "conv + residual");
    }

    [Theory]
    [InlineData(2, 50, 50, 8, 40, false)]    // SD 1.x head dim
    [InlineData(1, 300, 77, 5, 64, false)]   // cross-attention to 77 tokens, SD 2.x head dim
    [InlineData(2, 97, 97, 2, 80, false)]
    [InlineData(1, 33, 20, 1, 160, false)]
    [InlineData(1, 40, 40, 1, 300, false)]   // VAE-style single head, depth over one chunk
    [InlineData(2, 77, 77, 12, 64, true)]    // CLIP's causal self-attention
    [InlineData(1, 600, 600, 1, 8, true)]    // causal across several key blocks
    public void AttentionMatchesReference(int batch, int lq, int lk, int heads, int d, bool causal)
    {
        int c = heads * d;
        var q = Reference.Random(batch * lq * c, 13);
        var k = Reference.Random(batch * lk * c, 14);
        var v = Reference.Random(batch * lk * c, 15);
        using var tq = Upload(q, batch, lq, c);
        using var tk = Upload(k, batch, lk, c);
        using var tv = Upload(v, batch, lk, c);
        using var y = _cpu.Attention(tq, tk, tv, heads, causal);
        Reference.AssertClose(Reference.Attention(q, k, v, batch, lq, lk, heads, d, causal), y.ToArray(), 2e-5, "attention");
    }

    [Theory]
    [InlineData(2, 64, 64, 32, false)]
    [InlineData(1, 1000, 40, 8, true)]
    [InlineData(2, 7, 96, 32, true)]
    public void GroupNormMatchesReference(int batch, int spatial, int channels, int groups, bool silu)
    {
        var x = Reference.Random(batch * spatial * channels, 16, 3f);
        for (int i = 0; i < x.Length; i++) x[i] += 5f; // a large mean: two-pass statistics must not lose it
        var gamma = Reference.Random(channels, 17);
        var beta = Reference.Random(channels, 18);
        using var tx = Upload(x, batch, spatial, channels);
        using var tg = Upload(gamma, channels);
        using var tb = Upload(beta, channels);
        using var y = _cpu.GroupNorm(tx, tg, tb, groups, 1e-6f, silu);
        Reference.AssertClose(Reference.GroupNorm(x, gamma, beta, batch, spatial, channels, groups, 1e-6f, silu), y.ToArray(), 1e-5, "group norm");
    }

    [Fact]
    public void LayerNormMatchesReference()
    {
        var x = Reference.Random(7 * 77 * 40, 19, 4f);
        var gamma = Reference.Random(40, 20);
        var beta = Reference.Random(40, 21);
        using var tx = Upload(x, 7, 77, 40);
        using var tg = Upload(gamma, 40);
        using var tb = Upload(beta, 40);
        using var y = _cpu.LayerNorm(tx, tg, tb, 1e-5f);
        Reference.AssertClose(Reference.LayerNorm(x, gamma, beta, 7 * 77, 40, 1e-5f), y.ToArray(), 1e-5, "layer norm");
    }

    [Theory]
    [InlineData(Activation.Silu)]
    [InlineData(Activation.Gelu)]
    [InlineData(Activation.GeluTanh)]
    [InlineData(Activation.QuickGelu)]
    public void ActivationsMatchDefinitions(Activation function)
    {
        var x = Reference.Random(1003, 22, 8f);
        using var tx = Upload(x, 1003);
        using var y = _cpu.Activate(tx, function);
        var expected = x.Select(v => (float)(function switch
        {
            Activation.Silu => v / (1 + Math.Exp(-v)),
            Activation.Gelu => 0.5 * v * (1 + Reference.Erf(v / Math.Sqrt(2))),
            Activation.GeluTanh => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))),
            _ => v / (1 + Math.Exp(-1.702 * v)),
        })).ToArray();
        Reference.AssertClose(expected, y.ToArray(), 2e-6, function.ToString());
    }

    [Theory]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.LeakyRelu)]
    [InlineData(Activation.Elu)]
    [InlineData(Activation.Hardswish)]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Sigmoid)]
    [InlineData(Activation.Mish)]
    [InlineData(Activation.Softplus)]
    [InlineData(Activation.Softsign)]
    [InlineData(Activation.Selu)]
    [InlineData(Activation.Relu6)]
    [InlineData(Activation.Hardsigmoid)]
    public void HypernetworkActivationsMatchTorchDefinitions(Activation function)
    {
        // Wide enough to cross every kink (±3, 6) and softplus's threshold of 20.
        var x = Reference.Random(1003, 23, 25f);
        using var tx = Upload(x, 1003);
        using var y = _cpu.Activate(tx, function);
        static double Softplus(double v) => v > 20 ? v : Math.Log(1 + Math.Exp(v));
        var expected = x.Select(v => (float)(function switch
        {
            Activation.Relu => Math.Max(v, 0),
            Activation.LeakyRelu => v >= 0 ? v : 0.01 * v,
            Activation.Elu => v > 0 ? v : Math.Exp(v) - 1,
            Activation.Hardswish => v * Math.Clamp(v + 3, 0, 6) / 6,
            Activation.Tanh => Math.Tanh(v),
            Activation.Sigmoid => 1 / (1 + Math.Exp(-v)),
            Activation.Mish => v * Math.Tanh(Softplus(v)),
            Activation.Softplus => Softplus(v),
            Activation.Softsign => v / (1 + Math.Abs(v)),
            Activation.Selu => 1.0507009873554804934 * (v > 0 ? v : 1.6732632423543772848 * (Math.Exp(v) - 1)),
            Activation.Relu6 => Math.Clamp(v, 0, 6),
            _ => Math.Clamp(v + 3, 0, 6) / 6,
        })).ToArray();
        float[] actual = y.ToArray();
        for (int i = 0; i < x.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 2e-6 * Math.Max(1, Math.Abs(expected[i])), $"{function}({x[i]}) = {actual[i]}, expected {expected[i]}");
    }

    [Fact]
    public void ExpAndClampMatchDefinitions()
    {
        var x = Reference.Random(1003, 26, 40f);
        using var tx = Upload(x, 1003);
        using var exp = _cpu.Activate(tx, Activation.Exp);
        float[] e = exp.ToArray();
        for (int i = 0; i < x.Length; i++)
            Assert.True(Math.Abs(e[i] - Math.Exp(x[i])) <= 4e-7 * Math.Exp(x[i]), $"exp({x[i]}) = {e[i]}");
        using var clamped = _cpu.Clamp(tx, -30, 20);
        Assert.Equal(x.Select(v => Math.Clamp(v, -30f, 20f)), clamped.ToArray());
    }

    [Fact]
    public void GegluGatesTheFirstHalfWithGeluOfTheSecond()
    {
        var x = Reference.Random(3 * 2 * 21, 23, 3f);
        using var tx = Upload(x, 3, 42);
        using var y = _cpu.Geglu(tx);
        var expected = new float[3 * 21];
        for (int r = 0; r < 3; r++)
            for (int j = 0; j < 21; j++)
            {
                double g = x[r * 42 + 21 + j];
                expected[r * 21 + j] = (float)(x[r * 42 + j] * 0.5 * g * (1 + Reference.Erf(g / Math.Sqrt(2))));
            }
        Reference.AssertClose(expected, y.ToArray(), 2e-6, "geglu");
    }

    [Theory]
    [InlineData(new[] { 2, 3, 4, 5 }, new[] { 2, 3, 4, 5 })]
    [InlineData(new[] { 2, 3, 4, 5 }, new[] { 5 })]
    [InlineData(new[] { 2, 3, 4, 5 }, new[] { 2, 1, 1, 5 })]
    [InlineData(new[] { 2, 3, 4, 5 }, new[] { 2, 1, 1, 1 })]
    [InlineData(new[] { 2, 3, 4, 5 }, new[] { 3, 1, 5 })]
    public void BinaryBroadcastsLikeNumpy(int[] aShape, int[] bShape)
    {
        var sa = new Shape(aShape);
        var sb = new Shape(bShape);
        var a = Reference.Random((int)sa.ElementCount, 24);
        var b = Reference.Random((int)sb.ElementCount, 25);
        using var ta = Upload(a, aShape);
        using var tb = Upload(b, bShape);
        foreach (var op in new[] { BinaryOp.Add, BinaryOp.Subtract, BinaryOp.Multiply })
        {
            using var y = _cpu.Binary(ta, op, tb);
            var expected = new float[a.Length];
            for (int i = 0; i < a.Length; i++)
            {
                // Index of b for flat index i of a, by right-aligned broadcasting.
                int rem = i, bIndex = 0, bStride = 1;
                for (int d = aShape.Length - 1; d >= 0; d--)
                {
                    int idx = rem % aShape[d];
                    rem /= aShape[d];
                    int bd = d - (aShape.Length - bShape.Length);
                    if (bd >= 0)
                    {
                        if (bShape[bd] != 1) bIndex += idx * bStride;
                        bStride *= bShape[bd];
                    }
                }
                expected[i] = op switch { BinaryOp.Add => a[i] + b[bIndex], BinaryOp.Subtract => a[i] - b[bIndex], _ => a[i] * b[bIndex] };
            }
            Reference.AssertClose(expected, y.ToArray(), 1e-6, op.ToString());
        }
    }

    [Fact]
    public void BinaryRejectsShapesThatDoNotBroadcast()
    {
        using var a = _cpu.Full(new Shape(2, 3), 1);
        using var b = _cpu.Full(new Shape(2), 1);
        Assert.Throws<ArgumentException>(() => _cpu.Binary(a, BinaryOp.Add, b));
    }

    [Fact]
    public void AxpbyAndAffine()
    {
        var x = Reference.Random(100, 26);
        var z = Reference.Random(100, 27);
        using var tx = Upload(x, 4, 25);
        using var tz = Upload(z, 4, 25);
        using var y = _cpu.Axpby(0.25f, tx, -3f, tz);
        Reference.AssertClose(x.Zip(z, (a, b) => 0.25f * a - 3f * b).ToArray(), y.ToArray(), 1e-6, "axpby");
        using var f = _cpu.Affine(tx, 2f, 0.5f);
        Reference.AssertClose(x.Select(v => 2f * v + 0.5f).ToArray(), f.ToArray(), 1e-6, "affine");
    }

    [Fact]
    public void ConcatAndSliceAreInverse()
    {
        var a = Reference.Random(2 * 3 * 4, 28);
        var b = Reference.Random(2 * 3 * 5, 29);
        using var ta = Upload(a, 2, 3, 4);
        using var tb = Upload(b, 2, 3, 5);
        using var c = _cpu.Concat([ta, tb], -1);
        Assert.Equal(new Shape(2, 3, 9), c.Shape);
        var cv = c.ToArray();
        Assert.Equal(a[5 * 4 + 3], cv[5 * 9 + 3]);
        Assert.Equal(b[5 * 5 + 4], cv[5 * 9 + 8]);
        using var back = _cpu.Slice(c, 2, 4, 5);
        Assert.Equal(b, back.ToArray());
        using var batch = _cpu.Concat([ta, ta], 0);
        Assert.Equal(new Shape(4, 3, 4), batch.Shape);
        using var second = _cpu.Slice(batch, 0, 2, 2);
        Assert.Equal(a, second.ToArray());
        using var middle = _cpu.Slice(ta, 1, 1, 1);
        Assert.Equal(new[] { a[4], a[5], a[6], a[7], a[16], a[17], a[18], a[19] }, middle.ToArray());
    }

    [Fact]
    public void UpsampleNearestRepeatsEachPixelTwice()
    {
        using var x = Upload([1, 10, 2, 20, 3, 30, 4, 40], 1, 2, 2, 2);
        using var y = _cpu.UpsampleNearest2x(x);
        Assert.Equal(new Shape(1, 4, 4, 2), y.Shape);
        var v = y.ToArray();
        Assert.Equal(new float[] { 1, 10, 1, 10, 2, 20, 2, 20 }, v[..8]);
        Assert.Equal(v[..8], v[8..16]);
        Assert.Equal(new float[] { 3, 30, 3, 30, 4, 40, 4, 40 }, v[16..24]);
    }

    [Fact]
    public void BilinearResizeMatchesTorchInterpolate()
    {
        // torch.nn.functional.interpolate(tensor([[1., 2.], [3., 4.]])[None, None], size=(4, 4), mode="bilinear")
        using var x = Upload([1, 2, 3, 4], 1, 2, 2, 1);
        using var y = _cpu.Resize(x, 4, 4, ResizeMode.Bilinear);
        float[] expected = [1.0f, 1.25f, 1.75f, 2.0f, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3.0f, 3.25f, 3.75f, 4.0f];
        Reference.AssertClose(expected, y.ToArray(), 1e-6, "bilinear");
        using var nearest = _cpu.Resize(x, 3, 3, ResizeMode.Nearest);
        // nearest: source index floor(dst · 2/3) → 0, 0, 1
        Assert.Equal(new float[] { 1, 1, 2, 1, 1, 2, 3, 3, 4 }, nearest.ToArray());
        using var down = _cpu.Resize(_cpu.Resize(x, 4, 4, ResizeMode.Bilinear), 2, 2, ResizeMode.Bilinear);
        Reference.AssertClose([1.375f, 2.125f, 2.875f, 3.625f], down.ToArray(), 1e-6, "bilinear down");
    }

    [Fact]
    public void TimestepEmbeddingMatchesDiffusersFormula()
    {
        using var t = Upload([0f, 1f, 999f], 3);
        using var y = _cpu.TimestepEmbedding(t, 320, flipSinToCos: true, downscaleFreqShift: 0);
        var v = y.ToArray();
        var expected = new float[3 * 320];
        float[] ts = [0, 1, 999];
        for (int n = 0; n < 3; n++)
            for (int i = 0; i < 160; i++)
            {
                double arg = ts[n] * Math.Exp(-Math.Log(10000) * i / 160);
                expected[n * 320 + i] = (float)Math.Cos(arg);
                expected[n * 320 + 160 + i] = (float)Math.Sin(arg);
            }
        Reference.AssertClose(expected, v, 2e-4, "timestep embedding"); // fp32 argument rounding at t≈1000
    }

    [Fact]
    public void EmbeddingGathersRowsFrom16BitTables()
    {
        var table = Reference.Random(10 * 6, 30);
        using var file = new MemoryTensorFile();
        var entry = file.Add("emb", table, ElementType.F16, 10, 6);
        using var weights = _cpu.LoadWeight(entry);
        using var y = _cpu.Embedding(weights, [3, 0, 9, 3]);
        var rounded = entry.ToFloat32();
        var expected = new[] { 3, 0, 9, 3 }.SelectMany(i => rounded.Skip(i * 6).Take(6)).ToArray();
        Assert.Equal(expected, y.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => _cpu.Embedding(weights, [10]));
    }

    [Fact]
    public void ConvertRoundsTo16BitAndBack()
    {
        float[] values = [1f, -2.5f, 1e-3f, 65504f, 3.14159265f];
        using var x = Upload(values, 5);
        using var h = _cpu.Convert(x, DType.F16);
        using var b = _cpu.Convert(x, DType.BF16);
        Assert.Equal(values.Select(v => (float)(Half)v).ToArray(), h.ToArray());
        Assert.Equal(values.Select(v => NumericConversions.BFloat16ToSingle(NumericConversions.SingleToBFloat16(v))).ToArray(), b.ToArray());
        using var back = _cpu.Convert(h, DType.F32);
        Assert.Equal(DType.F32, back.DType);
        Assert.Equal(h.ToArray(), back.ToArray());
    }

    [Fact]
    public void VectorWeightsAndOtherTypesBecomeF32Copies()
    {
        using var file = new MemoryTensorFile();
        using var bias = _cpu.LoadWeight(file.Add("b", [1, 2, 3], ElementType.F16, 3));
        Assert.Equal(DType.F32, bias.DType);
        Assert.Equal(new float[] { 1, 2, 3 }, bias.ToArray());
        using var ids = _cpu.LoadWeight(file.Add("position_ids", [0, 1, 2, 3], ElementType.I64, 1, 4));
        Assert.Equal(DType.F32, ids.DType);
        Assert.Equal(new float[] { 0, 1, 2, 3 }, ids.ToArray());
    }

    [Fact]
    public void ViewsShareStorageAndKeepItAlive()
    {
        var data = Reference.Random(24, 31);
        var t = Upload(data, 4, 6);
        var view = t.Reshape(2, -1);
        var slice = t.SliceBatch(1, 2);
        t.Dispose();
        t.Dispose(); // twice is harmless
        Assert.Equal(new Shape(2, 12), view.Shape);
        Assert.Equal(data, view.ToArray());
        Assert.Equal(data[6..18], slice.ToArray());
        view.Dispose();
        slice.Dispose();
        Assert.Throws<ObjectDisposedException>(() => t.Reshape(24));
    }

    [Fact]
    public void OpsRejectMismatchedShapesWithClearErrors()
    {
        using var x = _cpu.Full(new Shape(2, 5), 1);
        using var w = _cpu.Full(new Shape(3, 4), 1);
        var e = Assert.Throws<ArgumentException>(() => _cpu.Linear(x, w));
        Assert.Contains("[2, 5]", e.Message);
        using var img = _cpu.Full(new Shape(1, 2, 2, 3), 1);
        using var k = _cpu.Full(new Shape(4, 3, 3, 3), 1);
        Assert.Throws<ArgumentException>(() => _cpu.Conv2d(img, k, null, new Conv2dOptions(1, 0)));
    }
}
