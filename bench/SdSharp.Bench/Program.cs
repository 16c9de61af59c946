using SdSharp.Bench;

return args switch
{
    ["png", ..] => PngBench.Run(),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: SdSharp.Bench png");
    return 2;
}
