namespace UserFunctions.Core.Data;

/// <summary>
/// A claimed <c>Idempotency-Key</c>: in progress while <see cref="StatusCode"/> is null, then the first response, stored in the
/// same transaction as the write it answers.
/// </summary>
public sealed class IdempotencyKey
{
    public const int KeyMaxLength = 255;
    public const int FingerprintLength = 32;
    public const int LocationMaxLength = 2048;
    public const int ETagMaxLength = 64;

    public string Key { get; set; } = "";

    /// <summary>Which request claimed the key: completing or releasing the claim checks it, so a taken-over claim cannot be completed twice.</summary>
    public Guid Token { get; set; }

    /// <summary>SHA-256 of the method, path, <c>If-Match</c> and body of the first request.</summary>
    public byte[] Fingerprint { get; set; } = [];

    public DateTime ClaimedAt { get; set; }

    public int? StatusCode { get; set; }

    public string? ResponseBody { get; set; }

    public string? Location { get; set; }

    public string? ETag { get; set; }
}
