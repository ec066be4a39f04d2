using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using UserFunctions.Tests.OpenApi;
using Xunit.Sdk;

namespace UserFunctions.Tests.Api;

/// <summary>
/// A few hundred random requests (<see cref="RandomRequestGenerator"/>): odd methods, ids, query strings, headers, content
/// types and bodies. Whatever comes in, the answer is never a server error other than 503; every error is a problem that
/// leaks nothing; the answers the contract decides before the database is asked (400, 413, 415, 404, 422) are those; and
/// the users table matches a model kept from the successful writes' responses, so a failed write changed nothing.
/// CI runs one fixed seed, so a build is red only for a change it brought; <c>RANDOM_REQUESTS_SEED=random</c> explores a
/// new seed each run, a failure names its seed, and <c>RANDOM_REQUESTS_SEED=&lt;seed&gt;</c> repeats that run.
/// </summary>
public abstract class RandomRequestTests(ApiHost host) : ApiTestBase(host)
{
    public sealed class OnDevServerSqlite(DevServerOnSqlite host) : RandomRequestTests(host), IClassFixture<DevServerOnSqlite>;

    public sealed class OnFunctionsSqlite(FunctionsOnSqlite host) : RandomRequestTests(host), IClassFixture<FunctionsOnSqlite>;

    public sealed class OnDevServerPostgreSql(DevServerOnPostgreSql host) : RandomRequestTests(host), IClassFixture<DevServerOnPostgreSql>;

    public sealed class OnFunctionsPostgreSql(FunctionsOnPostgreSql host) : RandomRequestTests(host), IClassFixture<FunctionsOnPostgreSql>;

    public const string SeedVariable = "RANDOM_REQUESTS_SEED";

    private const int DefaultSeed = 20261130;
    private const int MaxRequests = 300;
    private const int CompareEvery = 50;

    // Bounds the run on a slow machine; the requests sent until then are still the seed's first ones.
    private static readonly TimeSpan TimeBudget = TimeSpan.FromSeconds(25);

    [Fact]
    public async Task RandomRequestsGetNoServerErrorAndFailedWritesChangeNothing()
    {
        var seed = Environment.GetEnvironmentVariable(SeedVariable) switch
        {
            null or "" => DefaultSeed,
            "random" => Random.Shared.Next(),
            var given => int.Parse(given, CultureInfo.InvariantCulture),
        };
        // HttpClient sends non-ASCII header values only when told how to encode them; the test server takes them as they are.
        using var utf8Client = Server.Functions is { } functions
            ? new HttpClient(new ConformanceHandler(new SocketsHttpHandler { RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8 }))
            {
                BaseAddress = functions.BaseAddress,
            }
            : null;
        utf8Client?.DefaultRequestHeaders.Add("x-functions-key", ApiHost.FunctionKey);
        var run = new Run(this, utf8Client ?? Client, seed);
        try
        {
            await run.ExecuteAsync();
        }
        catch (Exception exception)
        {
            throw new XunitException(
                $"Random request {run.Sent} of seed {seed} failed on {Server.GetType().Name} (repeat with {SeedVariable}={seed}):\n"
                    + $"{run.Last}\n{exception.Message}\nThe requests before it:\n{string.Join("\n", run.History.TakeLast(25))}",
                exception);
        }
    }

    private sealed record Row(int Id, string Username, string Email, string CreatedAt, string UpdatedAt)
    {
        public static Row From(JsonElement user) => new(
            user.GetProperty("id").GetInt32(),
            user.GetProperty("username").GetString()!,
            user.GetProperty("email").GetString()!,
            user.GetProperty("createdAt").GetString()!,
            user.GetProperty("updatedAt").GetString()!);
    }

    /// <summary>The first successful response to an Idempotency-Key, which a repeat of the same request gets again.</summary>
    private sealed record KeyUse(string Fingerprint, int Status, string Body);

    private sealed class Run(RandomRequestTests test, HttpClient client, int seed)
    {
        private readonly RandomRequestGenerator _generator = new(seed);
        private readonly Dictionary<int, Row> _rows = [];
        private readonly Dictionary<string, KeyUse> _keys = new(StringComparer.Ordinal);
        private bool _unknown;

        public int Sent { get; private set; }

        public string Last { get; private set; } = "";

        /// <summary>Each request's method, URL and status, for the failure message.</summary>
        public List<string> History { get; } = [];

        private bool OnFunctions => test.Server.Kind == HostKind.Functions;

        public async Task ExecuteAsync()
        {
            var clock = Stopwatch.StartNew();
            while (Sent < MaxRequests && clock.Elapsed < TimeBudget)
            {
                var request = _generator.Next();
                Sent++;
                Last = request.ToString();
                using var response = await SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                Last += $"\n-> {(int)response.StatusCode} {response.Content.Headers.ContentType} {body[..Math.Min(body.Length, 800)]}";
                Check(request, response, body);
                History.Add($"{Sent}: {request.Method} {request.Url[..Math.Min(request.Url.Length, 100)]} key={request.IdempotencyKey?[..8]} -> {(int)response.StatusCode}");
                if (Sent % CompareEvery == 0)
                {
                    await CompareWithDatabaseAsync();
                }
            }

            Last = "(comparing the table with the model at the end)";
            await CompareWithDatabaseAsync();
        }

        private async Task<HttpResponseMessage> SendAsync(RandomRequest request)
        {
            using var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Url) { Content = Content(request) };
            foreach (var (name, value) in request.Headers)
            {
                Assert.True(message.Headers.TryAddWithoutValidation(name, value), $"The client refused the header {name}.");
            }

            return await client.SendAsync(message);
        }

        private static ByteArrayContent? Content(RandomRequest request)
        {
            if (request.Body is null && request.ContentType is null)
            {
                return null;
            }

            var content = new ByteArrayContent(request.Body ?? []);
            if (request.ContentType is not null)
            {
                content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
            }

            return content;
        }

        private void Check(RandomRequest request, HttpResponseMessage response, string body)
        {
            var status = (int)response.StatusCode;
            Assert.True(status < 500 || status == 503, "A server error other than 503.");
            if (status >= 400)
            {
                CheckProblem(request, response, body, status);
            }

            if (status == 503)
            {
                // The outcome of a write is not known: the next comparison takes the table as it is.
                _unknown = true;
                return;
            }

            switch (request.Route)
            {
                case RandomRoute.None:
                    Assert.True(status is 404 or 405, "A route and method no operation has.");
                    return;
                case RandomRoute.Either:
                    Assert.True(status < 200 || status >= 300 || !request.IsWrite, "A write through a route spelling the model does not follow.");
                    return;
            }

            if (CheckRefusedBeforeTheDatabase(request, status))
            {
                return;
            }

            switch (request.Method, request.Route)
            {
                case ("GET", RandomRoute.Users):
                    CheckList(status, body);
                    break;
                case ("GET", RandomRoute.UserById):
                    CheckRead(request, response, status, body);
                    break;
                case ("DELETE", _):
                    CheckDelete(request, status);
                    break;
                default:
                    CheckWrite(request, response, status, body);
                    break;
            }
        }

        private void CheckProblem(RandomRequest request, HttpResponseMessage response, string body, int status)
        {
            // The Functions host answers a request no function takes with a bare 404; a HEAD has no body at all.
            if ((OnFunctions && status == 404 && request.Route is RandomRoute.None or RandomRoute.Either && body.Length == 0) || request.Method == "HEAD")
            {
                return;
            }

            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            AssertLeaksNothing(body);
            var problem = JsonDocument.Parse(body).RootElement;
            Assert.Equal(status, problem.GetProperty("status").GetInt32());
            Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
            Assert.Matches("^[0-9a-f]{32}$", problem.GetProperty("traceId").GetString());
        }

        /// <summary>The answers the contract fixes from the request alone, in its order: Idempotency-Key, content type, size, shape.</summary>
        /// <returns>True when one of them applied.</returns>
        private static bool CheckRefusedBeforeTheDatabase(RandomRequest request, int status)
        {
            if (request.Method is not ("POST" or "PUT" or "PATCH"))
            {
                return false;
            }

            if (request.HonoursIdempotencyKey && request.IdempotencyKeyMalformed)
            {
                Assert.Equal(400, status);
                return true;
            }

            switch (request.ContentTypeFit)
            {
                case ContentTypeFit.Refused:
                case ContentTypeFit.MergePatchOnly when request.Method != "PATCH":
                    Assert.Equal(415, status);
                    return true;
                case ContentTypeFit.Unknown when status is < 200 or >= 300:
                    return true;
            }

            switch (request.BodyFit)
            {
                case BodyFit.TooLarge:
                    Assert.Equal(413, status);
                    return true;
                case BodyFit.Malformed:
                    Assert.Equal(400, status);
                    return true;
                case BodyFit.Unknown:
                    Assert.True(status is < 200 or >= 300, "A 2xx for a body that is not a JSON object.");
                    return true;
            }

            return false;
        }

        private void CheckList(int status, string body)
        {
            Assert.True(status is 200 or 400, "A list answers 200 or 400.");
            if (status != 200)
            {
                return;
            }

            var page = JsonDocument.Parse(body).RootElement;
            var previous = 0;
            foreach (var item in page.GetProperty("items").EnumerateArray())
            {
                var row = Row.From(item);
                Assert.True(row.Id > previous, "A page out of id order.");
                previous = row.Id;
                AssertKnown(row);
            }

            if (page.GetProperty("next").GetString() is { } next)
            {
                _generator.AddCursor(Uri.UnescapeDataString(next[(next.IndexOf("cursor=", StringComparison.Ordinal) + "cursor=".Length)..]));
            }
        }

        private void CheckRead(RandomRequest request, HttpResponseMessage response, int status, string body)
        {
            if (request.TargetId is not { } id || !_rows.TryGetValue(id, out var row))
            {
                Assert.Equal(404, status);
                return;
            }

            Assert.True(status == 200 || (status == 304 && request.HasIfNoneMatch), "An existing user answers 200, or 304 to If-None-Match.");
            Assert.Equal(_generator.Known[id], response.Headers.ETag?.ToString());
            if (status == 200)
            {
                Assert.Equal(row, Row.From(JsonDocument.Parse(body).RootElement));
            }
        }

        private void CheckDelete(RandomRequest request, int status)
        {
            if (request.TargetId is not { } id || !_rows.ContainsKey(id))
            {
                Assert.Equal(404, status);
                return;
            }

            Assert.True(status == 204 || (status == 412 && request.IfMatch is not null), "Deleting an existing user answers 204, or 412 to If-Match.");
            if (status == 204)
            {
                Forget(id);
            }
        }

        private void CheckWrite(RandomRequest request, HttpResponseMessage response, int status, string body)
        {
            var fields = request.Fields!;
            var success = status is >= 200 and < 300;
            var keyUse = request.HonoursIdempotencyKey && request.IdempotencyKey is { } key && _keys.TryGetValue(key, out var use) ? use : null;
            if (keyUse is not null)
            {
                // A key that answered before: the same request gets that answer again, another never succeeds.
                if (keyUse.Fingerprint == request.Fingerprint && success)
                {
                    Assert.Equal(keyUse.Status, status);
                    Assert.Equal(Row.From(JsonDocument.Parse(keyUse.Body).RootElement), Row.From(JsonDocument.Parse(body).RootElement));
                    return;
                }

                Assert.False(success, "A key first used for another request let this one succeed.");
                return;
            }

            if (!success)
            {
                Assert.True(status is 400 or 404 or 409 or 412, "A write answers 400, 404, 409 or 412.");
                Assert.False(status == 404 && request.Method != "POST" && request.TargetId is { } target && _rows.ContainsKey(target), "A 404 for an existing user.");
                return;
            }

            Assert.False(fields.SurelyInvalid, "A write with a value validation must refuse succeeded.");
            var user = JsonDocument.Parse(body).RootElement;
            var row = Row.From(user);
            if (request.Method == "POST")
            {
                Assert.Equal(201, status);
                Assert.True(fields is { HasUsername: true, Username: not null, HasEmail: true, Email: not null }, "A create without both members succeeded.");
                Assert.False(_rows.ContainsKey(row.Id), "A create answered with an existing user's id.");
                Assert.Equal(fields.Username.Trim(), row.Username);
                Assert.Equal(fields.Email.Trim(), row.Email);
            }
            else
            {
                Assert.Equal(200, status);
                Assert.True(request.TargetId is { } id && _rows.ContainsKey(id) && row.Id == id, "An update of a user the model does not have succeeded.");
                var current = _rows[row.Id];
                Assert.Equal(current.CreatedAt, row.CreatedAt);
                if (request.Method == "PUT")
                {
                    Assert.True(fields is { HasUsername: true, Username: not null, HasEmail: true, Email: not null }, "A replace without both members succeeded.");
                }
                else
                {
                    Assert.False((fields.HasUsername && fields.Username is null) || (fields.HasEmail && fields.Email is null), "A patch that removes a required member succeeded.");
                }

                Assert.Equal(fields.HasUsername ? fields.Username!.Trim() : current.Username, row.Username);
                Assert.Equal(fields.HasEmail ? fields.Email!.Trim() : current.Email, row.Email);
            }

            Remember(row, response.Headers.ETag?.ToString() ?? throw new XunitException("A successful write without an ETag."));
            if (request.HonoursIdempotencyKey && request.IdempotencyKey is { } newKey)
            {
                _keys[newKey] = new KeyUse(request.Fingerprint, status, body);
            }
        }

        private void Remember(Row row, string etag)
        {
            _rows[row.Id] = row;
            _generator.Known[row.Id] = etag;
            _generator.HighestId = Math.Max(_generator.HighestId, row.Id);
        }

        private void Forget(int id)
        {
            _rows.Remove(id);
            _generator.Known.Remove(id);
        }

        private void AssertKnown(Row row)
        {
            if (_unknown)
            {
                return;
            }

            Assert.True(_rows.TryGetValue(row.Id, out var expected), $"User {row.Id} exists but no successful write made it.");
            Assert.Equal(expected, row);
        }

        /// <summary>
        /// Reads the whole table through the list and compares it with the model; after a 503 the model is taken from the
        /// table instead. The row count is read from the database itself.
        /// </summary>
        private async Task CompareWithDatabaseAsync()
        {
            var rebuild = _unknown;
            if (rebuild)
            {
                _rows.Clear();
                _generator.Known.Clear();
                _unknown = false;
            }

            var seen = new HashSet<int>();
            for (var url = "/api/users?limit=100"; url is not null;)
            {
                using var response = await test.Client.GetAsync(url);
                var page = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                foreach (var item in page.GetProperty("items").EnumerateArray())
                {
                    var row = Row.From(item);
                    seen.Add(row.Id);
                    if (rebuild)
                    {
                        using var read = await test.Client.GetAsync($"/api/users/{row.Id}");
                        Remember(row, ETagOf(read));
                    }

                    AssertKnown(row);
                }

                url = page.GetProperty("next").GetString();
            }

            Assert.Empty(_rows.Keys.Except(seen));
            Assert.Equal(_rows.Count, await test.Server.CountUsersAsync());
        }
    }
}
