using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using UserFunctions.Core.Data;

namespace UserFunctions.Core.Http;

/// <summary>A request's <c>Idempotency-Key</c> and the fingerprint of the request it names (method, path, If-Match, body).</summary>
public sealed class IdempotentRequest(string key, IncrementalHash fingerprint) : IDisposable
{
    public string Key { get; } = key;

    /// <summary>Receives the body too (<see cref="JsonBody"/>) before it is finished.</summary>
    public IncrementalHash Fingerprint { get; } = fingerprint;

    public void Dispose() => Fingerprint.Dispose();
}

/// <summary>
/// The <c>Idempotency-Key</c> header's grammar (IETF httpapi draft "The Idempotency-Key HTTP Header Field"): an sf-string
/// (<c>"..."</c>, printable ASCII with <c>\"</c> and <c>\\</c> escapes), or a bare token of visible ASCII without quotes
/// or backslashes, since many clients send a bare UUID. Either way 1 to 255 characters, sent once.
/// </summary>
public static class IdempotencyKeyHeader
{
    public const string Name = "Idempotency-Key";

    /// <returns>False with a 400 problem when the header is malformed; true otherwise, with null when there is no header.</returns>
    public static bool TryRead(HttpRequest request, out IdempotentRequest? idempotent, [NotNullWhen(false)] out ProblemHttpResult? problem)
    {
        idempotent = null;
        problem = null;
        // A header sent empty may arrive as no value at all.
        if (!request.Headers.TryGetValue(Name, out var values))
        {
            return true;
        }

        if (values.Count != 1 || !TryParse(values[0], out var key))
        {
            problem = ApiProblems.IdempotencyKeyMalformed();
            return false;
        }

        var fingerprint = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        AppendField(fingerprint, request.Method);
        AppendField(fingerprint, (request.PathBase + request.Path).Value);
        AppendField(fingerprint, request.Headers.IfMatch.ToString());
        idempotent = new IdempotentRequest(key, fingerprint);
        return true;
    }

    internal static bool TryParse(string? value, [NotNullWhen(true)] out string? key)
    {
        key = null;
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        if (value[0] != '"')
        {
            if (value.Length > IdempotencyKey.KeyMaxLength || value.Any(c => c is <= ' ' or > '~' or '"' or '\\'))
            {
                return false;
            }

            key = value;
            return true;
        }

        var builder = new StringBuilder(value.Length);
        for (var i = 1; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '"')
            {
                if (i != value.Length - 1 || builder.Length is 0 or > IdempotencyKey.KeyMaxLength)
                {
                    return false;
                }

                key = builder.ToString();
                return true;
            }

            if (c == '\\')
            {
                if (++i == value.Length || value[i] is not ('"' or '\\'))
                {
                    return false;
                }

                c = value[i];
            }
            else if (c is < ' ' or > '~')
            {
                return false;
            }

            builder.Append(c);
        }

        return false; // no closing quote
    }

    private static void AppendField(IncrementalHash hash, string? value)
    {
        hash.AppendData(Encoding.UTF8.GetBytes(value ?? ""));
        hash.AppendData([0]);
    }
}
