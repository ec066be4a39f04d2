using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace UserFunctions.Tests.Docs;

/// <summary>
/// Debian's headless Chromium, driven over the DevTools protocol: one page, every URL it requests, its text, a screenshot.
/// Host names other than 127.0.0.1 resolve to nothing, so a page that reaches for the internet shows it as failed requests
/// (still recorded) instead of depending on whether the machine is online.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly string _profileDirectory;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly ConcurrentQueue<string> _requestedUrls = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task _receiving = Task.CompletedTask;
    private int _nextId;

    private HeadlessChromium(Process process, string profileDirectory)
    {
        _process = process;
        _profileDirectory = profileDirectory;
    }

    /// <summary>Every URL the page requested (documents, scripts, fetches, images, fonts, web sockets), in order.</summary>
    public IReadOnlyCollection<string> RequestedUrls => _requestedUrls;

    public static async Task<HeadlessChromium> StartAsync()
    {
        var executable = FindExecutable();
        var profileDirectory = Directory.CreateTempSubdirectory("chromium-profile-").FullName;
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--window-size=1400,1000",
            "--remote-debugging-port=0", $"--user-data-dir={profileDirectory}",
            "about:blank"])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        // Its output is noise (D-Bus is missing in containers); read it so the pipes never fill.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var chromium = new HeadlessChromium(process, profileDirectory);
        try
        {
            await chromium.ConnectToPageAsync();
            return chromium;
        }
        catch
        {
            await chromium.DisposeAsync();
            throw;
        }
    }

    /// <summary>Opens <paramref name="url"/> and records every request the page makes from then on.</summary>
    public async Task NavigateAsync(Uri url)
    {
        await SendAsync("Network.enable");
        await SendAsync("Page.enable");
        await SendAsync("Page.navigate", new JsonObject { ["url"] = url.ToString() });
    }

    /// <summary>The page's visible text, <c>document.body.innerText</c> ("" before there is a body).</summary>
    public async Task<string> VisibleTextAsync() =>
        (await EvaluateAsync("document.body ? document.body.innerText : ''")).GetString() ?? "";

    /// <summary>Runs a JavaScript expression in the page and returns its value (awaited when it is a promise).</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject
        {
            ["expression"] = expression,
            ["returnByValue"] = true,
            ["awaitPromise"] = true,
        });
        return result.TryGetProperty("exceptionDetails", out var exception)
            ? throw new InvalidOperationException($"{expression} threw: {exception}")
            : result.GetProperty("result").TryGetProperty("value", out var value) ? value.Clone() : default;
    }

    /// <summary>Types <paramref name="text"/> as a user would into the element <paramref name="focusExpression"/> focuses.</summary>
    public async Task TypeAsync(string focusExpression, string text)
    {
        await EvaluateAsync(focusExpression);
        await SendAsync("Input.insertText", new JsonObject { ["text"] = text });
    }

    /// <summary>Waits until the visible text contains every one of <paramref name="texts"/>; returns it.</summary>
    public async Task<string> WaitForTextAsync(IReadOnlyCollection<string> texts, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var text = "";
        while (DateTime.UtcNow < deadline)
        {
            text = await VisibleTextAsync();
            if (texts.All(t => text.Contains(t, StringComparison.Ordinal)))
            {
                return text;
            }

            await Task.Delay(250);
        }

        var missing = texts.Where(t => !text.Contains(t, StringComparison.Ordinal));
        throw new TimeoutException(
            $"After {timeout.TotalSeconds:0}s the page does not show: {string.Join(" | ", missing)}. Requests: {string.Join(", ", _requestedUrls)}. Text: {text}");
    }

    /// <summary>Clicks the first button whose text starts with <paramref name="text"/> (screen-reader text may follow), once there is one.</summary>
    public async Task ClickButtonAsync(string text, TimeSpan timeout)
    {
        var click = $$"""
            (() => {
                const button = [...document.querySelectorAll('button')].find(b => b.textContent.trim().startsWith({{JsonSerializer.Serialize(text)}}));
                button?.click();
                return button !== undefined;
            })()
            """;
        var deadline = DateTime.UtcNow + timeout;
        while (!(await EvaluateAsync(click)).GetBoolean())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"After {timeout.TotalSeconds:0}s the page has no button '{text}'.");
            }

            await Task.Delay(250);
        }
    }

    public async Task SaveScreenshotAsync(string path)
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(result.GetProperty("data").GetString()!));
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            await _receiving;
        }
        catch (Exception exception) when (exception is OperationCanceledException or WebSocketException)
        {
        }

        _socket.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _stopping.Dispose();
        try
        {
            Directory.Delete(_profileDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A profile file still being written as the browser dies; it is in the temp folder.
        }
    }

    private static string FindExecutable()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var name in (string[])["chromium", "chromium-browser"])
        {
            foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = Path.Combine(directory, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new InvalidOperationException(
            "Chromium is not installed, and the API reference page tests need it: `apt-get install -y chromium` (.ci/run installs it).");
    }

    private async Task ConnectToPageAsync()
    {
        // With --remote-debugging-port=0 Chromium picks a free port and writes it to this file's first line.
        var portFile = Path.Combine(_profileDirectory, "DevToolsActivePort");
        var deadline = DateTime.UtcNow + CommandTimeout;
        string[] lines = [];
        while (lines.Length == 0 || !int.TryParse(lines[0], out _))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Chromium exited with code {_process.ExitCode} before opening its DevTools port.");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Chromium did not open its DevTools port.");
            }

            await Task.Delay(100);
            lines = File.Exists(portFile) ? await File.ReadAllLinesAsync(portFile) : [];
        }

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{lines[0]}/") };
        var targets = await http.GetFromJsonAsync<JsonElement>("json/list");
        var page = targets.EnumerateArray().First(t => t.GetProperty("type").GetString() == "page");
        await _socket.ConnectAsync(new Uri(page.GetProperty("webSocketDebuggerUrl").GetString()!), _stopping.Token);
        _receiving = ReceiveAsync();
    }

    private async Task<JsonElement> SendAsync(string method, JsonObject? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? [] };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, endOfMessage: true, _stopping.Token);

        var response = await reply.Task.WaitAsync(CommandTimeout);
        return response.TryGetProperty("error", out var error)
            ? throw new InvalidOperationException($"DevTools {method} failed: {error}")
            : response.GetProperty("result");
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (!_stopping.IsCancellationRequested)
        {
            var received = await _socket.ReceiveAsync(buffer, _stopping.Token);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                return;
            }

            message.Write(buffer, 0, received.Count);
            if (!received.EndOfMessage)
            {
                continue;
            }

            using var document = JsonDocument.Parse(message.ToArray());
            message.SetLength(0);
            var root = document.RootElement;
            if (root.TryGetProperty("id", out var id))
            {
                if (_pending.TryRemove(id.GetInt32(), out var reply))
                {
                    reply.SetResult(root.Clone());
                }

                continue;
            }

            var parameters = root.GetProperty("params");
            switch (root.GetProperty("method").GetString())
            {
                case "Network.requestWillBeSent":
                    _requestedUrls.Enqueue(parameters.GetProperty("request").GetProperty("url").GetString()!);
                    break;
                case "Network.webSocketCreated":
                    _requestedUrls.Enqueue(parameters.GetProperty("url").GetString()!);
                    break;
            }
        }
    }
}
