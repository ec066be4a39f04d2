using System.Globalization;
using System.Text;

namespace UserFunctions.Tests.Api;

/// <summary>Which operation a request reaches, as far as its method and path decide it.</summary>
public enum RandomRoute
{
    /// <summary>GET or POST <c>/api/users</c>.</summary>
    Users,

    /// <summary>GET, PUT, PATCH or DELETE <c>/api/users/{id}</c>.</summary>
    UserById,

    /// <summary>No operation has this method and path: the host answers, not a handler.</summary>
    None,

    /// <summary>A spelling the hosts may or may not route (a trailing slash, another letter case).</summary>
    Either,
}

/// <summary>Whether the request's <c>Content-Type</c> is one the contract accepts.</summary>
public enum ContentTypeFit
{
    Json,
    MergePatchOnly,
    Refused,

    /// <summary>An odd spelling the contract does not decide (an empty or quoted charset).</summary>
    Unknown,
}

/// <summary>What the contract says of the body before the database is asked.</summary>
public enum BodyFit
{
    /// <summary>A JSON object of only <c>username</c> and <c>email</c>, each a string or null.</summary>
    Shaped,

    /// <summary>Empty, not JSON, the wrong shape, unknown or duplicate members: 400.</summary>
    Malformed,

    /// <summary>More than 4 KiB: 413.</summary>
    TooLarge,

    /// <summary>Something the contract does not decide (a byte-order mark, say).</summary>
    Unknown,
}

/// <summary>The members of a shaped body. A member sent as JSON null has a null value; <c>SurelyInvalid</c> says a value can never pass validation.</summary>
public sealed record UserFields(bool HasUsername, string? Username, bool HasEmail, string? Email, bool SurelyInvalid);

/// <summary>One random request and what its generator knows about it.</summary>
public sealed record RandomRequest(
    string Method,
    string Url,
    RandomRoute Route,
    int? TargetId,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    string? ContentType,
    byte[]? Body,
    ContentTypeFit ContentTypeFit,
    BodyFit BodyFit,
    UserFields? Fields,
    string? IdempotencyKey,
    bool IdempotencyKeyMalformed,
    string? IfMatch,
    bool HasIfNoneMatch)
{
    public bool IsWrite => Method is "POST" or "PUT" or "PATCH" or "DELETE";

    /// <summary>A POST or PATCH that reaches its handler, the operations that honour Idempotency-Key.</summary>
    public bool HonoursIdempotencyKey =>
        (Route == RandomRoute.Users && Method == "POST") || (Route == RandomRoute.UserById && Method == "PATCH");

    /// <summary>What the server fingerprints for Idempotency-Key (method, path, If-Match, body), with the path as sent.</summary>
    public string Fingerprint =>
        $"{Method}\n{Url.Split('?')[0]}\n{IfMatch}\n{(Body is null ? "" : Convert.ToBase64String(Body))}";

    public override string ToString()
    {
        var text = new StringBuilder().Append(Method).Append(' ').Append(Url).AppendLine();
        foreach (var (name, value) in Headers)
        {
            text.Append(name).Append(": ").AppendLine(Escape(value));
        }

        if (ContentType is not null)
        {
            text.Append("Content-Type: ").AppendLine(Escape(ContentType));
        }

        if (Body is not null)
        {
            text.Append("body (").Append(Body.Length).Append(" bytes): ").Append(Escape(Encoding.UTF8.GetString(Body, 0, Math.Min(Body.Length, 600))));
        }

        return text.ToString();
    }

    private static string Escape(string value)
    {
        var text = new StringBuilder();
        foreach (var c in value)
        {
            text.Append(c is < ' ' or > '~' ? $"\\u{(int)c:x4}" : c.ToString());
        }

        return text.ToString();
    }
}

/// <summary>
/// Makes random requests from a seed: the same seed and the same answers give the same requests. Ids of existing users
/// and ETags come from <see cref="RandomRequestGenerator.Known"/>, which the test keeps up to date, so requests reach real
/// users as well as missing ones.
/// </summary>
public sealed class RandomRequestGenerator(int seed)
{
    private readonly Random _random = new(seed);
    private readonly List<string> _usedKeys = [];
    private readonly List<string> _cursors = [];

    /// <summary>The users the test believes exist: id and current ETag.</summary>
    public SortedDictionary<int, string> Known { get; } = [];

    /// <summary>The highest id any response has named, so that ids above it name nobody.</summary>
    public int HighestId { get; set; }

    public void AddCursor(string cursor)
    {
        if (_cursors.Count < 50)
        {
            _cursors.Add(cursor);
        }
    }

    private static readonly string[] Usernames = ["john_doe", "jane.doe", "Bob-1", "alice", "x_y_z", "ANNA", "m.e"];
    private static readonly string[] Emails = ["john@example.com", "jane@example.org", "bob@mail.example.com", "ana@xn--bcher-kva.example", "émile@exämple.fr", "\U0001F600@example.com", "o'brien@example.com"];

    public RandomRequest Next()
    {
        var (method, url, route, targetId) = NextTarget();
        var headers = new List<KeyValuePair<string, string>>();
        string? ifMatch = null;
        var hasIfNoneMatch = false;
        string? idempotencyKey = null;
        var keyMalformed = false;

        if (Chance(0.35))
        {
            ifMatch = NextETagHeader(targetId);
            headers.Add(new("If-Match", ifMatch));
        }

        if (Chance(0.2))
        {
            hasIfNoneMatch = true;
            headers.Add(new("If-None-Match", NextETagHeader(targetId)));
        }

        if (Chance(0.4))
        {
            var (value, key, malformed, twice) = NextIdempotencyKey();
            headers.Add(new("Idempotency-Key", value));
            if (twice)
            {
                headers.Add(new("Idempotency-Key", value));
            }

            (idempotencyKey, keyMalformed) = (key, malformed);
        }

        if (Chance(0.1))
        {
            headers.Add(new("traceparent", Pick(["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "garbage", "00-00000000000000000000000000000000-0000000000000000-01", "ff-" + new string('f', 200)])));
        }

        if (Chance(0.05))
        {
            headers.Add(new("Accept", Pick(["application/xml", "text/html", "*/*;q=0", "application/problem+json"])));
        }

        string? contentType = null;
        byte[]? body = null;
        var contentTypeFit = ContentTypeFit.Refused;
        var bodyFit = BodyFit.Malformed;
        UserFields? fields = null;
        if (method is "POST" or "PUT" or "PATCH" || Chance(0.1))
        {
            (contentType, contentTypeFit) = NextContentType();
            if (!Chance(0.05))
            {
                (body, bodyFit, fields) = NextBody();
            }
        }

        return new RandomRequest(
            method, url, route, targetId, headers, contentType, body, contentTypeFit, bodyFit, fields, idempotencyKey, keyMalformed, ifMatch, hasIfNoneMatch);
    }

    private (string Method, string Url, RandomRoute Route, int? TargetId) NextTarget()
    {
        var roll = _random.NextDouble();
        if (roll < 0.3)
        {
            var method = Pick(["GET", "GET", "POST", "POST", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"]);
            var route = method is "GET" or "POST" ? RandomRoute.Users : RandomRoute.None;
            var path = "/api/users";
            // Other spellings only for reads: the model follows writes through the routes it knows.
            if (method == "GET" && Chance(0.1))
            {
                (path, route) = (Pick(["/api/users/", "/api/Users"]), RandomRoute.Either);
            }

            return (method, path + NextQuery(method == "GET" ? 0.9 : 0.1), route, null);
        }

        if (roll < 0.97)
        {
            var method = Pick(["GET", "GET", "PUT", "PUT", "PATCH", "PATCH", "PATCH", "DELETE", "POST", "HEAD"]);
            var route = method is "GET" or "PUT" or "PATCH" or "DELETE" ? RandomRoute.UserById : RandomRoute.None;
            var (segment, targetId) = NextIdSegment();
            var path = "/api/users/" + segment;
            if (method == "GET" && Chance(0.05))
            {
                (path, route) = (path + "/", RandomRoute.Either);
            }

            return (method, path + NextQuery(0.1), route, targetId);
        }

        return (Pick(["GET", "POST", "DELETE"]), Pick(["/api/users/1/extra", "/api/user", "/api", "/users", "/api/users/%2F", "/api/health/x"]), RandomRoute.None, null);
    }

    // No NUL (%00) in the path: Kestrel refuses it with a bare 400 before any host code runs, and the test server's
    // client throws.
    private (string Segment, int? TargetId) NextIdSegment()
    {
        if (Known.Count > 0 && Chance(0.6))
        {
            var id = Known.Keys.ElementAt(_random.Next(Known.Count));
            return Chance(0.1) ? ("00" + Id(id), id) : (Id(id), id);
        }

        if (Chance(0.3))
        {
            var id = HighestId + 1 + _random.Next(1000);
            return (Id(id), id);
        }

        return Pick<(string, int?)>([
            ("0", null), ("-1", null), ("2147483648", null), ("2147483647", int.MaxValue), ("99999999999999999999999999", null),
            ("1.5", null), ("1e3", null), ("+1", null), ("%201", null), ("abc", null), ("%C3%A9", null), ("%F0%9F%98%80", null),
            ("%D9%A3", null), ("%FF", null), ("%C3%28", null), ("%ED%A0%80", null), ("%0A", null), ("%09", null),
            (new string('9', 500), null), ("0x10", null), ("null", null), ("%EF%BC%91", null),
        ]);
    }

    private static string Id(int id) => id.ToString(CultureInfo.InvariantCulture);

    private string NextQuery(double chance)
    {
        if (!Chance(chance))
        {
            return "";
        }

        var parts = new List<string>();
        var count = _random.Next(1, 5);
        for (var i = 0; i < count; i++)
        {
            var name = Pick(["limit", "limit", "cursor", "username", "username", "email", "email", "foo", "LIMIT"]);
            parts.Add(name + "=" + NextQueryValue(name));
        }

        if (Chance(0.05))
        {
            parts.Add(Pick(["limit", "&", "=", "username", "%FF=%FF"]));
        }

        return "?" + string.Join("&", parts);
    }

    private string NextQueryValue(string name) => name switch
    {
        "limit" => Pick(["1", "2", "20", "100", "0", "101", "-1", "abc", "1.5", "99999999999999999999", "%00", "%FF", "", "+5", "%205", "007", "%D9%A3"]),
        "cursor" when _cursors.Count > 0 && Chance(0.6) => Mutate(_cursors[_random.Next(_cursors.Count)]),
        "cursor" => Pick(["", "abc", "AAAAAAAAAAAAAAAAAAAAAAAA", "%00", "%FF", "%ED%A0%80", new string('A', 2000), "-_-_"]),
        "username" => Pick([
            Uri.EscapeDataString(NextCase(Pick(Usernames))), "%20john_doe%20", "john%00doe", "%00", "%FF", "%C3%28", "%ED%A0%80",
            "%F0%9F%98%80", "%01", new string('a', 2000), "", "%E2%80%AE", "%C0%80"]),
        "email" => Pick([
            Uri.EscapeDataString(NextCase(Pick(Emails))), "john%40example.com%00", "%00", "%FF", "%C3%28", "%ED%A0%80%40x.com",
            new string('e', 2000) + "%40example.com", "", "%09john@example.com%0A"]),
        _ => Pick(["bar", "%00", "%FF", ""]),
    };

    private string Mutate(string cursor) => _random.Next(5) switch
    {
        0 => cursor[..^1],
        1 => cursor + "A",
        2 => cursor[..(cursor.Length / 2)] + (cursor[cursor.Length / 2] == 'A' ? 'B' : 'A') + cursor[(cursor.Length / 2 + 1)..],
        3 => cursor.ToUpperInvariant(),
        _ => cursor,
    };

    private string NextETagHeader(int? targetId)
    {
        var current = targetId is { } id && Known.TryGetValue(id, out var etag) ? etag : $"\"{Guid.NewGuid():N}\"";
        return Pick([
            current, current, "*", "W/" + current, $"\"{Guid.NewGuid():N}\"", "abc", "\"unterminated", "\"\"", $"{current}, \"{Guid.NewGuid():N}\"",
            current.ToUpperInvariant(), current.Trim('"'), "\"" + new string('a', 800) + "\"", "*, " + current, ",", "W/\"\"", "\"a\\\"b\"", "\"caf\u00e9\"", "ключ",
        ]);
    }

    private (string Value, string? Key, bool Malformed, bool Twice) NextIdempotencyKey()
    {
        if (_usedKeys.Count > 0 && Chance(0.3))
        {
            var reused = _usedKeys[_random.Next(_usedKeys.Count)];
            return ($"\"{reused}\"", reused, false, false);
        }

        if (Chance(0.75))
        {
            // Sometimes as long as a key may be.
            var key = Chance(0.2) ? Guid.NewGuid().ToString("N") + new string('k', 255 - 32) : Guid.NewGuid().ToString();
            _usedKeys.Add(key);
            if (Chance(0.05))
            {
                return (key, null, true, true);
            }

            return Chance(0.5) ? ($"\"{key}\"", key, false, false) : (key, key, false, false);
        }

        var malformed = Pick([
            "\"\"", "\"unterminated", "\"a\"b", "a b", "\"bad\\x\"", "\"tab\there\"", "a\"b", "a\\b", "\"" + new string('k', 256) + "\"",
            new string('k', 256), "\"\\\"", "\"a\\\"",
        ]);
        if (Chance(0.3))
        {
            malformed = Pick(["ключ", "\"ключ\"", "caf\u00e9"]);
        }

        return (malformed, null, true, false);
    }

    private (string? ContentType, ContentTypeFit Fit) NextContentType() => Pick<(string?, ContentTypeFit)>([
        ("application/json", ContentTypeFit.Json),
        ("application/json", ContentTypeFit.Json),
        ("application/json; charset=utf-8", ContentTypeFit.Json),
        ("Application/JSON; charset=UTF-8", ContentTypeFit.Json),
        ("application/merge-patch+json", ContentTypeFit.MergePatchOnly),
        ("application/merge-patch+json; charset=utf-8", ContentTypeFit.MergePatchOnly),
        (null, ContentTypeFit.Refused),
        ("text/plain", ContentTypeFit.Refused),
        ("application/x-www-form-urlencoded", ContentTypeFit.Refused),
        ("application/json; charset=iso-8859-1", ContentTypeFit.Refused),
        ("application/json; charset=utf-16", ContentTypeFit.Refused),
        ("application/json-patch+json", ContentTypeFit.Refused),
        ("*/*", ContentTypeFit.Refused),
        ("garbage", ContentTypeFit.Refused),
        ("application/json; charset=", ContentTypeFit.Unknown),
        ("application/json; charset=\"utf-8\"", ContentTypeFit.Unknown),
        ("application/json;;;", ContentTypeFit.Unknown),
        ("application/json; boundary=x; charset=utf-8; charset=latin1", ContentTypeFit.Unknown),
    ]);

    private (byte[] Body, BodyFit Fit, UserFields? Fields) NextBody()
    {
        if (Chance(0.6))
        {
            return NextObjectBody();
        }

        var valid = Encoding.UTF8.GetBytes("{\"username\":\"john_doe\",\"email\":\"john@example.com\"}");
        return Pick<Func<(byte[], BodyFit, UserFields?)>>([
            () => ([], BodyFit.Malformed, null),
            () => ("null"u8.ToArray(), BodyFit.Malformed, null),
            () => ("[]"u8.ToArray(), BodyFit.Malformed, null),
            () => ("\"john_doe\""u8.ToArray(), BodyFit.Malformed, null),
            () => ("12345678901234567890123456789"u8.ToArray(), BodyFit.Malformed, null),
            () => ("   \n\t "u8.ToArray(), BodyFit.Malformed, null),
            () => (valid[.._random.Next(1, valid.Length - 1)], BodyFit.Malformed, null),
            () => (Encoding.UTF8.GetBytes("{\"username\":" + new string('[', _random.Next(50, 2000))), BodyFit.Malformed, null),
            () => (Encoding.UTF8.GetBytes(new string('[', 600) + new string(']', 600)), BodyFit.Malformed, null),
            () => (Encoding.UTF8.GetBytes("{\"username\":{\"a\":" + string.Concat(Enumerable.Repeat("{\"a\":", 100)) + "1" + new string('}', 102)), BodyFit.Malformed, null),
            () => ("{\"username\":1e999999,\"email\":\"john@example.com\"}"u8.ToArray(), BodyFit.Malformed, null),
            () => ("{\"username\":\"john_doe\",\"email\":\"john@example.com\"}{}"u8.ToArray(), BodyFit.Malformed, null),
            () => ("{\"username\":\"john_doe\",\"email\":\"john@example.com\",}"u8.ToArray(), BodyFit.Malformed, null),
            () => ("/*c*/{\"username\":\"john_doe\",\"email\":\"john@example.com\"}"u8.ToArray(), BodyFit.Malformed, null),
            () => ("{'username':'john_doe'}"u8.ToArray(), BodyFit.Malformed, null),
            () => ("username=john_doe&email=john%40example.com"u8.ToArray(), BodyFit.Malformed, null),
            () => ([.. "{\"username\":\"john"u8, 0xFF, 0xFE, .. "\",\"email\":\"john@example.com\"}"u8], BodyFit.Malformed, null),
            () => ([.. "{\"username\":\"jo"u8, 0xED, 0xA0, 0x80, .. "hn\",\"email\":\"john@example.com\"}"u8], BodyFit.Malformed, null),
            () => ([.. "{\"username\":\"jo"u8, 0xC0, 0x80, .. "hn\",\"email\":\"john@example.com\"}"u8], BodyFit.Malformed, null),
            () => ([.. "{\"username\":\"jo"u8, 0x00, .. "hn\",\"email\":\"john@example.com\"}"u8], BodyFit.Malformed, null),
            () => (RandomBytes(_random.Next(1, 300)), BodyFit.Unknown, null),
            () => ([0xEF, 0xBB, 0xBF, .. valid], BodyFit.Unknown, null),
            () => (Encoding.UTF8.GetBytes("{\"username\":\"" + new string('a', 5000) + "\"}"), BodyFit.TooLarge, null),
            () => (Encoding.UTF8.GetBytes(new string(' ', 4097)), BodyFit.TooLarge, null),
        ])();
    }

    private (byte[] Body, BodyFit Fit, UserFields Fields) NextObjectBody()
    {
        var members = new List<string>();
        var shaped = true;
        var surelyInvalid = false;
        bool hasUsername = false, hasEmail = false;
        string? username = null, email = null;

        if (Chance(0.85))
        {
            var (json, value, valueShaped, invalid) = NextMemberValue(Usernames);
            members.Add(Name("username") + ":" + json);
            (hasUsername, username, shaped, surelyInvalid) = (true, value, shaped && valueShaped, surelyInvalid || invalid);
        }

        if (Chance(0.85))
        {
            var (json, value, valueShaped, invalid) = NextMemberValue(Emails);
            members.Add(Name("email") + ":" + json);
            (hasEmail, email, shaped, surelyInvalid) = (true, value, shaped && valueShaped, surelyInvalid || invalid);
        }

        if (Chance(0.07))
        {
            members.Add(Pick(["\"id\":7", "\"createdAt\":\"2026-01-01T00:00:00Z\"", "\"isAdmin\":true", "\"\":1", "\"username\\u0000\":\"x\"", "\"\\ud800\":\"x\""]));
            shaped = false;
        }

        if (Chance(0.05) && (hasUsername || hasEmail))
        {
            members.Add(Name(hasUsername && (!hasEmail || Chance(0.5)) ? "username" : "email") + ":\"dup\"");
            shaped = false;
        }

        Shuffle(members);
        var text = "{" + string.Join(Pick([",", ", ", ",\n"]), members) + "}";
        var body = Encoding.UTF8.GetBytes(Chance(0.05) ? " \n" + text + "\t " : text);
        var fit = body.Length > 4096 ? BodyFit.TooLarge : shaped ? BodyFit.Shaped : BodyFit.Malformed;
        return (body, fit, new UserFields(hasUsername, username, hasEmail, email, surelyInvalid));
    }

    // Member names are matched without regard to case.
    private string Name(string name) => JsonString(Chance(0.1) ? NextCase(name) : name);

    /// <returns>The member's JSON, its string value (null for JSON null or another type), whether it keeps the body shaped, and whether validation must refuse it.</returns>
    private (string Json, string? Value, bool Shaped, bool SurelyInvalid) NextMemberValue(string[] pool)
    {
        var roll = _random.NextDouble();
        if (roll < 0.55)
        {
            var value = NextCase(Pick(pool));
            if (Chance(0.1))
            {
                value = Pick([" ", "\t", "\u00a0", "\n"]) + value + Pick([" ", "\u2003", ""]);
            }

            return (JsonString(value), value, true, false);
        }

        if (roll < 0.75)
        {
            var value = Pick([
                "jo\u0000hn", "\u0000", "john\u0001doe", "jo\ud800hn", "\udc00", "x\ud800", "john@exa\u0000mple.com", "jo\u007fhn@example.com",
                "john@example.com\u0000", "\ud800@example.com", "a\ud83d@example.com", "john\u200b@example.com\ud800",
                new string('a', 81), new string('a', 130) + "@example.com", new string('\u0000', 300),
            ]);
            return (JsonString(value), value, true, true);
        }

        if (roll < 0.85)
        {
            // Plausible but unlike the pool: short, odd, international; validation decides.
            var value = Pick(["ab", "a b", "名前", "x@y", "user@localhost", "a@b.c", "\U0001F600\U0001F600\U0001F600", "..", "a..b@example.com", ""]);
            return (JsonString(value), value, true, false);
        }

        if (roll < 0.9)
        {
            return ("null", null, true, false);
        }

        return (Pick(["123", "-0", "1e400", "123456789012345678901234567890", "true", "false", "{}", "[]", "[\"john_doe\"]", "{\"a\":\"b\"}"]), null, false, false);
    }

    /// <summary>JSON string literal that escapes control characters and every surrogate, so lone surrogates travel as <c>\ud800</c>.</summary>
    private static string JsonString(string value)
    {
        var text = new StringBuilder("\"");
        foreach (var c in value)
        {
            text.Append(c is < ' ' or '"' or '\\' || char.IsSurrogate(c) || c > '~' && c < '\u00a0' ? $"\\u{(int)c:x4}" : c.ToString());
        }

        return text.Append('"').ToString();
    }

    private string NextCase(string value)
    {
        if (!Chance(0.3))
        {
            return value;
        }

        var chars = value.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsAscii(chars[i]) && Chance(0.5))
            {
                chars[i] = char.IsUpper(chars[i]) ? char.ToLowerInvariant(chars[i]) : char.ToUpperInvariant(chars[i]);
            }
        }

        return new string(chars);
    }

    private byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        _random.NextBytes(bytes);
        return bytes;
    }

    private void Shuffle(List<string> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private bool Chance(double probability) => _random.NextDouble() < probability;

    private T Pick<T>(T[] items) => items[_random.Next(items.Length)];
}
