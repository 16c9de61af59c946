using SdSharp.Tensors;

namespace SdSharp.Models.Vae;

/// <summary>
/// diffusers' tiled VAE (enable_tiling), for images whose activations do not fit in memory: the input is cut
/// into square tiles overlapping by a quarter, each runs through the network alone, and each output is blended
/// linearly over the overlap with the (already blended) output above it and to its left, then cropped and joined,
/// in diffusers' order, so the result is diffusers' bit for bit up to rounding. Memory then follows the tile, not
/// the image. The result differs a little from the untiled one: every tile normalises with its own statistics.
/// </summary>
internal static class TiledVae
{
    /// <param name="x">NHWC input on <paramref name="backend"/>.</param>
    /// <param name="inTile">Tile side in input pixels (diffusers' tile_latent_min_size to decode, tile_sample_min_size to encode).</param>
    /// <param name="outTile">The same tile's side in output pixels.</param>
    /// <param name="network">The network on one tile; the result is a new tensor on <paramref name="backend"/>.</param>
    public static Tensor Run(IBackend backend, Tensor x, int inTile, int outTile, Func<Tensor, Tensor> network)
    {
        int stride = Math.Max(1, inTile * 3 / 4), blend = outTile / 4, keep = outTile - blend; // diffusers' overlap factor 0.25
        int height = x.Shape[1], width = x.Shape[2];
        var rows = new List<List<HostTile>>();
        for (int i = 0; i < height; i += stride)
        {
            var row = new List<HostTile>();
            using var band = backend.Slice(x, 1, i, Math.Min(inTile, height - i));
            for (int j = 0; j < width; j += stride)
            {
                using var tile = backend.Slice(band, 2, j, Math.Min(inTile, width - j));
                using var output = network(tile);
                row.Add(new HostTile(output.ToArray(), output.Shape));
            }
            rows.Add(row);
        }
        for (int i = 0; i < rows.Count; i++)
            for (int j = 0; j < rows[i].Count; j++)
            {
                if (i > 0) rows[i][j].BlendBelow(rows[i - 1][j], blend);
                if (j > 0) rows[i][j].BlendRightOf(rows[i][j - 1], blend);
            }
        return Join(backend, rows, keep);
    }

    /// <summary>The tiles cropped to <paramref name="keep"/> pixels per side and put side by side.</summary>
    private static Tensor Join(IBackend backend, List<List<HostTile>> rows, int keep)
    {
        var first = rows[0][0].Shape;
        int batch = first[0], channels = first[3];
        int height = rows.Sum(r => Math.Min(keep, r[0].Height)), width = rows[0].Sum(t => Math.Min(keep, t.Width));
        var result = new float[(long)batch * height * width * channels];
        int y0 = 0;
        foreach (var row in rows)
        {
            int x0 = 0, rowHeight = Math.Min(keep, row[0].Height);
            foreach (var tile in row)
            {
                int tileWidth = Math.Min(keep, tile.Width);
                for (int b = 0; b < batch; b++)
                    for (int y = 0; y < rowHeight; y++)
                        tile.Values.AsSpan(tile.Index(b, y, 0), tileWidth * channels)
                            .CopyTo(result.AsSpan((int)((((long)b * height + y0 + y) * width + x0) * channels)));
                x0 += tileWidth;
            }
            y0 += rowHeight;
        }
        return backend.FromHost(result, new Shape(batch, height, width, channels));
    }

    /// <summary>A tile's output on the host, [batch, height, width, channels].</summary>
    private sealed class HostTile(float[] values, Shape shape)
    {
        public float[] Values { get; } = values;
        public Shape Shape { get; } = shape;
        public int Height => Shape[1];
        public int Width => Shape[2];
        private int Channels => Shape[3];

        public int Index(int b, int y, int x) => ((b * Height + y) * Width + x) * Channels;

        /// <summary>diffusers' blend_v: the first rows fade in from the last rows of the tile above.</summary>
        public void BlendBelow(HostTile above, int extent)
        {
            extent = Math.Min(Math.Min(above.Height, Height), extent);
            for (int b = 0; b < Shape[0]; b++)
                for (int y = 0; y < extent; y++)
                {
                    float t = (float)y / extent;
                    for (int x = 0; x < Math.Min(Width, above.Width) * Channels; x++)
                    {
                        int mine = Index(b, y, 0) + x, theirs = above.Index(b, above.Height - extent + y, 0) + x;
                        Values[mine] = above.Values[theirs] * (1 - t) + Values[mine] * t;
                    }
                }
        }

        /// <summary>diffusers' blend_h: the first columns fade in from the last columns of the tile to the left.</summary>
        public void BlendRightOf(HostTile left, int extent)
        {
            extent = Math.Min(Math.Min(left.Width, Width), extent);
            for (int b = 0; b < Shape[0]; b++)
                for (int y = 0; y < Height; y++)
                    for (int x = 0; x < extent; x++)
                    {
                        float t = (float)x / extent;
                        for (int c = 0; c < Channels; c++)
                        {
                            int mine = Index(b, y, x) + c, theirs = left.Index(b, y, left.Width - extent + x) + c;
                            Values[mine] = left.Values[theirs] * (1 - t) + Values[mine] * t;
                        }
                    }
        }
    }
}
