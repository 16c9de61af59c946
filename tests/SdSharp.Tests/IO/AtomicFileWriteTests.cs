using System.Text;
using SdSharp.IO;

namespace SdSharp.Tests.IO;

public class AtomicFileWriteTests
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    private string PathOf(string name) => Path.Combine(_dir, name);

    [Fact]
    public void The_final_name_shows_the_old_content_until_the_new_is_complete()
    {
        string path = PathOf("a.txt");
        File.WriteAllText(path, "old");

        AtomicFile.Write(path, stream =>
        {
            stream.Write("new"u8);
            stream.Flush();
            Assert.Equal("old", File.ReadAllText(path));
        }, overwrite: true);

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void A_new_file_does_not_exist_under_its_name_while_being_written()
    {
        string path = PathOf("b.txt");

        AtomicFile.Write(path, stream =>
        {
            stream.Write("data"u8);
            Assert.False(File.Exists(path));
        });

        Assert.Equal("data", File.ReadAllText(path));
    }

    [Fact]
    public void A_failed_write_leaves_neither_a_file_nor_a_temp_behind()
    {
        string fresh = PathOf("fresh.txt"), existing = PathOf("existing.txt");
        File.WriteAllText(existing, "keep me");

        foreach (string path in new[] { fresh, existing })
            Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
            {
                stream.Write(new byte[100_000]);
                throw new InvalidOperationException("encoder failed half way");
            }, overwrite: true));

        Assert.False(File.Exists(fresh));
        Assert.Equal("keep me", File.ReadAllText(existing));
        Assert.Equal([existing], Directory.GetFiles(_dir));
    }

    [Fact]
    public void Refusing_to_overwrite_leaves_the_existing_file_alone()
    {
        string path = PathOf("c.txt");
        File.WriteAllText(path, "first");
        bool called = false;

        Assert.False(AtomicFile.TryWriteNew(path, _ => called = true));
        var error = Assert.ThrowsAny<InvalidInputException>(() => AtomicFile.Write(path, s => s.Write("second"u8), overwrite: false));

        Assert.False(called);
        Assert.Equal($"{path}: already exists (not overwriting it)", error.Message);
        Assert.Equal("first", File.ReadAllText(path));
    }

    [Fact]
    public void A_file_that_appears_during_the_write_is_not_replaced_without_overwrite()
    {
        string path = PathOf("d.txt");

        bool written = AtomicFile.TryWriteNew(path, stream =>
        {
            File.WriteAllText(path, "someone else");   // another process wins the race
            stream.Write("ours"u8);
        });

        Assert.False(written);
        Assert.Equal("someone else", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void Long_names_still_get_a_valid_temp_name()
    {
        string path = PathOf(new string('n', 240) + ".png");

        AtomicFile.Write(path, stream => stream.Write(Encoding.ASCII.GetBytes("x")));

        Assert.Equal("x", File.ReadAllText(path));
    }

    [Fact]
    public void Racing_writers_for_one_name_have_exactly_one_winner()
    {
        // .NET's File.Move(overwrite: false) checks then renames on Linux; two racers could both win (seen: 12 in 300).
        for (int round = 0; round < 200; round++)
        {
            string path = PathOf($"race{round}.txt");
            int winners = 0;
            Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            {
                if (AtomicFile.TryWriteNew(path, s => s.Write(Encoding.ASCII.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture))))) Interlocked.Increment(ref winners);
            });
            Assert.Equal(1, winners);
        }
        Assert.Equal(200, Directory.GetFiles(_dir).Length);
    }
}
