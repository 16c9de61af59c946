using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace SdSharp.Tests.IO;

/// <summary>
/// Writes stored (uncompressed) zip archives the way torch does (entry data aligned to 64 bytes with an extra
/// field), optionally with ZIP64 records even for small files, so the ZIP64 paths of the reader are tested.
/// </summary>
internal static class ZipBuilder
{
    public static byte[] Stored(IEnumerable<(string Name, byte[] Data)> entries, bool zip64 = false)
    {
        var output = new MemoryStream();
        var central = new MemoryStream();
        int count = 0;
        foreach (var (name, data) in entries)
        {
            count++;
            byte[] nameBytes = Encoding.UTF8.GetBytes(name);
            long localOffset = output.Position;
            uint crc = Crc32(data);
            // Local header; the padding extra field aligns the data to 64 bytes, as torch's writer does.
            int zip64Local = zip64 ? 20 : 0;
            long dataStart = localOffset + 30 + nameBytes.Length + zip64Local + 4;
            int padding = (int)((64 - dataStart % 64) % 64);
            var local = new BinaryWriter(output);
            local.Write(0x04034b50u);
            local.Write((ushort)(zip64 ? 45 : 20));
            local.Write((ushort)0);
            local.Write((ushort)0);
            local.Write(0u);
            local.Write(crc);
            local.Write(zip64 ? 0xFFFFFFFFu : (uint)data.Length);
            local.Write(zip64 ? 0xFFFFFFFFu : (uint)data.Length);
            local.Write((ushort)nameBytes.Length);
            local.Write((ushort)(zip64Local + 4 + padding));
            local.Write(nameBytes);
            if (zip64)
            {
                local.Write((ushort)1);
                local.Write((ushort)16);
                local.Write((ulong)data.Length);
                local.Write((ulong)data.Length);
            }
            local.Write((ushort)0x4246);
            local.Write((ushort)padding);
            local.Write(new byte[padding]);
            local.Write(data);

            var c = new BinaryWriter(central);
            c.Write(0x02014b50u);
            c.Write((ushort)(zip64 ? 45 : 20));
            c.Write((ushort)(zip64 ? 45 : 20));
            c.Write((ushort)0);
            c.Write((ushort)0);
            c.Write(0u);
            c.Write(crc);
            c.Write(zip64 ? 0xFFFFFFFFu : (uint)data.Length);
            c.Write(zip64 ? 0xFFFFFFFFu : (uint)data.Length);
            c.Write((ushort)nameBytes.Length);
            c.Write((ushort)(zip64 ? 28 : 0));
            c.Write((ushort)0);
            c.Write((ushort)0);
            c.Write((ushort)0);
            c.Write(0u);
            c.Write(zip64 ? 0xFFFFFFFFu : (uint)localOffset);
            c.Write(nameBytes);
            if (zip64)
            {
                c.Write((ushort)1);
                c.Write((ushort)24);
                c.Write((ulong)data.Length);
                c.Write((ulong)data.Length);
                c.Write((ulong)localOffset);
            }
        }
        long centralOffset = output.Position;
        central.Position = 0;
        central.CopyTo(output);
        long centralSize = output.Position - centralOffset;
        var w = new BinaryWriter(output);
        if (zip64)
        {
            long record = output.Position;
            w.Write(0x06064b50u);
            w.Write(44UL);
            w.Write((ushort)45);
            w.Write((ushort)45);
            w.Write(0u);
            w.Write(0u);
            w.Write((ulong)count);
            w.Write((ulong)count);
            w.Write((ulong)centralSize);
            w.Write((ulong)centralOffset);
            w.Write(0x07064b50u);
            w.Write(0u);
            w.Write((ulong)record);
            w.Write(1u);
        }
        w.Write(0x06054b50u);
        w.Write((ushort)0);
        w.Write((ushort)0);
        w.Write(zip64 ? (ushort)0xFFFF : (ushort)count);
        w.Write(zip64 ? (ushort)0xFFFF : (ushort)count);
        w.Write(zip64 ? 0xFFFFFFFFu : (uint)centralSize);
        w.Write(zip64 ? 0xFFFFFFFFu : (uint)centralOffset);
        w.Write((ushort)0);
        return output.ToArray();
    }

    /// <summary>A deflated archive written by System.IO.Compression, as a user re-zipping a checkpoint would make.</summary>
    public static byte[] Deflated(IEnumerable<(string Name, byte[] Data)> entries)
    {
        var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, data) in entries)
            {
                using Stream s = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
                s.Write(data);
            }
        return output.ToArray();
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }
}
