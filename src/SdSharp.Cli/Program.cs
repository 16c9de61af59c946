return SdSharp.Cli.SdSharpCli.Run(args);
