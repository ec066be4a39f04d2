using UserFunctions.DevServer;

await DevServerApp.Build(args).RunAsync();
