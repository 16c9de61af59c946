using System.Globalization;
using SdSharp.Imaging;
using SdSharp.IO;

namespace SdSharp.Generation.Infotext;

/// <summary>
/// Saves generated images as PNGs carrying their infotext in the <c>parameters</c> chunk: either to a file the
/// user named (never replacing one that exists), or numbered in an output folder the way A1111 names samples,
/// "00000-1234.png", "00001-1235.png", ... Numbered saves never overwrite either: a name another writer took
/// first is skipped for the next number, so several processes can share a folder.
/// </summary>
public static class ImageOutput
{
    /// <summary>How many taken names a numbered save skips before it gives up.</summary>
    private const int MaxAttempts = 1000;

    /// <summary>Writes <paramref name="path"/>; an existing file there is an error, never replaced.</summary>
    public static void Save(string path, Image image, string? infotext)
    {
        PngEncoder.Save(image, path, Text(infotext), overwrite: false);
    }

    /// <summary>
    /// Writes the next numbered file "NNNNN-SEED.png" in <paramref name="folder"/> (created if missing) and
    /// returns its path.
    /// </summary>
    public static string SaveNumbered(string folder, Image image, string? infotext, long seed) => SaveNumbered(folder, Encode(image, infotext), seed);

    /// <summary>Like <see cref="SaveNumbered(string, Image, string?, long)"/>, for a PNG already encoded with <see cref="Encode"/>.</summary>
    public static string SaveNumbered(string folder, byte[] png, long seed)
    {
        if (File.Exists(folder)) throw new InvalidInputException($"{folder}: is a file, not an output folder");
        Directory.CreateDirectory(folder);
        long number = NextSequenceNumber(folder);
        for (int attempt = 0; attempt < MaxAttempts; attempt++, number++)
        {
            string path = Path.Combine(folder, NumberedName(number, seed));
            if (AtomicFile.TryWriteNew(path, stream => stream.Write(png))) return path;
        }
        throw new InvalidInputException($"{folder}: {MaxAttempts} numbered file names in a row are taken");
    }

    /// <summary>A1111's sample name with its default pattern "[seed]": the number in at least 5 digits, then the seed.</summary>
    public static string NumberedName(long number, long seed) =>
        string.Create(CultureInfo.InvariantCulture, $"{number:D5}-{seed}.png");

    /// <summary>
    /// A1111's <c>get_next_sequence_number</c>: one more than the largest number any entry of the folder starts
    /// with (the part of its name, extension removed, before the first '-', read as Python's <c>int()</c> does),
    /// or 0. Names that do not start with a number, our hidden temporary files among them, are ignored; gaps are
    /// not filled.
    /// </summary>
    public static long NextSequenceNumber(string folder)
    {
        long largest = -1;
        if (!Directory.Exists(folder)) return 0;
        foreach (string entry in Directory.EnumerateFileSystemEntries(folder))
        {
            string stem = WithoutExtension(Path.GetFileName(entry));
            int dash = stem.IndexOf('-');
            if (PythonText.TryParseInt(dash < 0 ? stem : stem[..dash], out long n) && n >= 0) largest = Math.Max(largest, n);
        }
        return largest == long.MaxValue ? throw new InvalidInputException($"{folder}: no sequence number left") : largest + 1;
    }

    /// <summary>Python's <c>os.path.splitext</c> of a bare name: a leading dot does not start an extension.</summary>
    private static string WithoutExtension(string name)
    {
        int dot = name.LastIndexOf('.');
        if (dot <= 0) return name;
        return name.AsSpan(0, dot).TrimStart('.').IsEmpty ? name : name[..dot];
    }

    /// <summary>The PNG of an image with its infotext in the <c>parameters</c> chunk (none when null).</summary>
    public static byte[] Encode(Image image, string? infotext) => PngEncoder.Encode(image, Text(infotext));

    private static PngText[] Text(string? infotext) =>
        infotext == null ? [] : [PngText.For(ImageInfotext.PngKeyword, infotext)];
}
