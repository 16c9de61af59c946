using SdSharp.IO;

namespace SdSharp.Tests.IO;

public sealed class DiffusersFolderTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Component(string name, string? config = "{\"in_channels\": 4, \"block_out_channels\": [32, 64], \"attention_head_dim\": 8, \"cross_attention_dim\": null, \"sample_size\": 64.5}")
    {
        string dir = Path.Combine(_dir, name);
        Directory.CreateDirectory(dir);
        if (config != null) File.WriteAllText(Path.Combine(dir, "config.json"), config);
        return dir;
    }

    private static void Weights(string path, ElementType type, params string[] names) =>
        SafetensorsWriter.Write(path, names.Select(n => (n, type, new long[] { 2 }, (ReadOnlyMemory<byte>)new byte[2 * type.Size()])), overwrite: true);

    /// <summary>An SD-like pipeline: a unet with fp16 variant, a vae without, a sharded text encoder, a scheduler.</summary>
    private void MakePipeline()
    {
        File.WriteAllText(Path.Combine(_dir, "model_index.json"), """
            {
              "_class_name": "StableDiffusionPipeline",
              "_diffusers_version": "0.30.0",
              "unet": ["diffusers", "UNet2DConditionModel"],
              "vae": ["diffusers", "AutoencoderKL"],
              "text_encoder": ["transformers", "CLIPTextModel"],
              "scheduler": ["diffusers", "PNDMScheduler"],
              "safety_checker": [null, null],
              "requires_safety_checker": false
            }
            """);
        string unet = Component("unet");
        Weights(Path.Combine(unet, "diffusion_pytorch_model.safetensors"), ElementType.F32, "conv_in.weight", "conv_in.bias");
        Weights(Path.Combine(unet, "diffusion_pytorch_model.fp16.safetensors"), ElementType.F16, "conv_in.weight", "conv_in.bias");
        string vae = Component("vae");
        Weights(Path.Combine(vae, "diffusion_pytorch_model.safetensors"), ElementType.F32, "decoder.conv_in.weight");
        string te = Component("text_encoder", "{\"hidden_size\": 768}");
        Weights(Path.Combine(te, "model-00001-of-00002.safetensors"), ElementType.F32, "text_model.a", "text_model.b");
        Weights(Path.Combine(te, "model-00002-of-00002.safetensors"), ElementType.F32, "text_model.c");
        File.WriteAllText(Path.Combine(te, "model.safetensors.index.json"), """
            {"metadata": {"total_size": 24}, "weight_map": {
              "text_model.a": "model-00001-of-00002.safetensors",
              "text_model.b": "model-00001-of-00002.safetensors",
              "text_model.c": "model-00002-of-00002.safetensors"}}
            """);
        string scheduler = Component("scheduler", null);
        File.WriteAllText(Path.Combine(scheduler, "scheduler_config.json"), "{\"num_train_timesteps\": 1000, \"beta_schedule\": \"scaled_linear\"}");
    }

    [Fact]
    public void ReadsComponentsConfigsAndWeights()
    {
        MakePipeline();
        using var folder = DiffusersFolder.Open(_dir);
        Assert.Equal("diffusers", folder.Format);
        Assert.Equal("StableDiffusionPipeline", folder.PipelineClass);
        Assert.Equal(["unet", "vae", "text_encoder", "scheduler"], folder.Components.Select(c => c.Name));
        Assert.False(folder.HasComponent("safety_checker"));

        DiffusersComponent unet = folder.Component("unet");
        Assert.Equal("diffusers", unet.Library);
        Assert.Equal("UNet2DConditionModel", unet.ClassName);
        Assert.Equal(4, unet.Config.GetInt("in_channels"));
        Assert.Equal([32, 64], unet.Config.GetIntArray("block_out_channels"));
        Assert.Equal([8, 8], unet.Config.GetIntOrIntArray("attention_head_dim", 2));
        Assert.False(unet.Config.HasValue("cross_attention_dim"));
        Assert.True(unet.Config.Has("cross_attention_dim"));
        Assert.Equal(768, unet.Config.GetInt("cross_attention_dim", 768));
        Assert.Equal(ElementType.F32, unet.Weights.Find("conv_in.weight")!.Type);

        Assert.Equal("scaled_linear", folder.Component("scheduler").Config.GetString("beta_schedule"));
        Assert.False(folder.Component("scheduler").HasWeights);

        TensorFile te = folder.Component("text_encoder").Weights;
        Assert.IsType<ShardedTensorFile>(te);
        Assert.Equal(["text_model.a", "text_model.b", "text_model.c"], te.Tensors.Select(t => t.Name));
        Assert.Equal("24", te.Metadata["total_size"]);

        Assert.Equal(["unet.conv_in.bias", "unet.conv_in.weight", "vae.decoder.conv_in.weight", "text_encoder.text_model.a", "text_encoder.text_model.b", "text_encoder.text_model.c"],
            folder.Tensors.Select(t => t.Name));
        Assert.Equal(6, ModelSummary.Of(folder).TensorCount);
    }

    [Fact]
    public void PrefersTheVariantAndFallsBackWithoutIt()
    {
        MakePipeline();
        using var folder = (DiffusersFolder)ModelFiles.Open(_dir, variant: "fp16");
        Assert.Equal("fp16", folder.Variant);
        Assert.EndsWith("diffusion_pytorch_model.fp16.safetensors", folder.Component("unet").WeightsPath);
        Assert.Equal(ElementType.F16, folder.Component("unet").Weights.Tensors[0].Type);
        Assert.Equal(ElementType.F32, folder.Component("vae").Weights.Tensors[0].Type);
        Assert.Equal(ModelFormat.Diffusers, ModelFiles.Detect(_dir));
    }

    [Fact]
    public void FindsVariantShardIndexesAndTorchBins()
    {
        string dir = Component("x");
        Weights(Path.Combine(dir, "s1.safetensors"), ElementType.F16, "w");
        File.WriteAllText(Path.Combine(dir, "diffusion_pytorch_model.safetensors.index.fp16.json"), "{\"weight_map\": {\"w\": \"s1.safetensors\"}}");
        Assert.EndsWith("diffusion_pytorch_model.safetensors.index.fp16.json", DiffusersComponent.FindWeights(dir, "fp16"));

        string bin = Component("y");
        File.WriteAllBytes(Path.Combine(bin, "pytorch_model.bin"), TestCheckpoints.Zip());
        Assert.EndsWith("pytorch_model.bin", DiffusersComponent.FindWeights(bin, "fp16"));

        string odd = Component("z");
        Weights(Path.Combine(odd, "weights.safetensors"), ElementType.F32, "w");
        Assert.EndsWith("weights.safetensors", DiffusersComponent.FindWeights(odd, null));
    }

    [Fact]
    public void ReadsTorchBinWeightsOfAComponent()
    {
        File.WriteAllText(Path.Combine(_dir, "model_index.json"), "{\"text_encoder\": [\"transformers\", \"CLIPTextModel\"]}");
        string te = Component("text_encoder", "{}");
        File.WriteAllBytes(Path.Combine(te, "pytorch_model.bin"), TestCheckpoints.Zip());
        using var folder = DiffusersFolder.Open(_dir);
        Assert.Equal("pytorch-zip", folder.Component("text_encoder").Weights.Format);
        Assert.Contains(folder.Tensors, t => t.Name == "text_encoder.model.a.weight");
    }

    [Fact]
    public void ErrorsNameTheComponentAndFile()
    {
        MakePipeline();
        File.Delete(Path.Combine(_dir, "vae", "diffusion_pytorch_model.safetensors"));
        Directory.Delete(Path.Combine(_dir, "scheduler"), recursive: true);
        using var folder = DiffusersFolder.Open(_dir, "fp16");

        var weights = Assert.Throws<ModelFormatException>(() => folder.Component("vae").Weights);
        Assert.Contains("no weights for component 'vae'", weights.Message);
        Assert.Contains("diffusion_pytorch_model[.fp16].safetensors", weights.Message);
        Assert.Throws<ModelFormatException>(() => folder.Tensors);

        var missing = Assert.Throws<ModelFormatException>(() => folder.Component("scheduler").Config);
        Assert.Contains("component 'scheduler' is listed in model_index.json but has no folder", missing.Message);
        var config = Assert.Throws<ModelFormatException>(() => folder.Component("unet").Config.GetInt("out_channels"));
        Assert.Contains("config.json: 'out_channels' is missing", config.Message);
        var type = Assert.Throws<ModelFormatException>(() => folder.Component("unet").Config.GetInt("sample_size"));
        Assert.Contains("'sample_size' is not an integer", type.Message);
        Assert.Contains("no component 'refiner'", Assert.Throws<ModelFormatException>(() => folder.Component("refiner")).Message);
        Assert.Contains("has no vocab.json", Assert.Throws<ModelFormatException>(() => folder.Component("unet").FilePath("vocab.json")).Message);
    }

    [Fact]
    public void ChecksShardIndexes()
    {
        MakePipeline();
        string te = Path.Combine(_dir, "text_encoder");
        string index = Path.Combine(te, "model.safetensors.index.json");
        File.WriteAllText(index, "{\"weight_map\": {\"text_model.a\": \"model-00002-of-00002.safetensors\"}}");
        Assert.Contains("'text_model.a' is not in shard model-00002-of-00002.safetensors", Assert.Throws<ModelFormatException>(() => ShardedTensorFile.Open(index)).Message);
        File.WriteAllText(index, "{\"weight_map\": {\"text_model.a\": \"missing.safetensors\"}}");
        Assert.Contains("shard missing.safetensors is missing", Assert.Throws<ModelFormatException>(() => ShardedTensorFile.Open(index)).Message);
        File.WriteAllText(index, "{\"weight_map\": {\"text_model.a\": \"../../etc/passwd\"}}");
        Assert.Contains("not a file name in the same folder", Assert.Throws<ModelFormatException>(() => ShardedTensorFile.Open(index)).Message);
        File.WriteAllText(index, "{\"weight_map\": {\"text_model.a\": \"model-00001-of-00002.safetensors\", \"x\": \"model-00002-of-00002.safetensors\"}}");
        Weights(Path.Combine(te, "model-00002-of-00002.safetensors"), ElementType.F32, "text_model.a");
        Assert.Contains("is in both", Assert.Throws<ModelFormatException>(() => ShardedTensorFile.Open(index)).Message);
        File.WriteAllText(index, "{\"weight_map\": [1]}");
        Assert.Contains("no weight_map object", Assert.Throws<ModelFormatException>(() => ShardedTensorFile.Open(index)).Message);
    }

    [Fact]
    public void RejectsFoldersThatAreNotDiffusersModels()
    {
        Assert.Contains("without model_index.json", Assert.Throws<ModelFormatException>(() => ModelFiles.Open(_dir)).Message);
        File.WriteAllText(Path.Combine(_dir, "model_index.json"), "[1, 2]");
        Assert.Contains("not a JSON object", Assert.Throws<ModelFormatException>(() => DiffusersFolder.Open(_dir)).Message);
        File.WriteAllText(Path.Combine(_dir, "model_index.json"), "{\"unet\": [\"diffusers\", ");
        Assert.Contains("not valid JSON", Assert.Throws<ModelFormatException>(() => DiffusersFolder.Open(_dir)).Message);
        File.WriteAllText(Path.Combine(_dir, "model_index.json"), "{\"..\": [\"diffusers\", \"X\"]}");
        Assert.Contains("is not a folder name", Assert.Throws<ModelFormatException>(() => DiffusersFolder.Open(_dir)).Message);
        Assert.Throws<InvalidInputException>(() => DiffusersFolder.Open(_dir, "../x"));
    }
}
