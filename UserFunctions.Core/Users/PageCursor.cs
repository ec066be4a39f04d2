using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace UserFunctions.Core.Users;

/// <summary>
/// The opaque keyset cursor: the last id of a page plus a truncated HMAC, base64url-encoded. The MAC makes garbage and
/// edited cursors detectable (400) rather than silently paging from somewhere else. It protects integrity only: the
/// cursor grants nothing a client could not get by paging from the start, so the key is not a secret.
/// </summary>
public static class PageCursor
{
    private const byte FormatVersion = 1;
    private const int MacLength = 8;
    private const int PayloadLength = 1 + sizeof(int);
    private const int TotalLength = PayloadLength + MacLength;
    private static readonly byte[] Key = "UserFunctions.PageCursor.v1"u8.ToArray();

    public static string Encode(int afterId)
    {
        Span<byte> bytes = stackalloc byte[TotalLength];
        bytes[0] = FormatVersion;
        BinaryPrimitives.WriteInt32LittleEndian(bytes[1..], afterId);
        Mac(bytes[..PayloadLength], bytes[PayloadLength..]);
        return Base64Url.EncodeToString(bytes);
    }

    public static bool TryDecode(string? cursor, out int afterId)
    {
        afterId = 0;
        Span<byte> bytes = stackalloc byte[TotalLength];
        if (string.IsNullOrEmpty(cursor)
            || !Base64Url.IsValid(cursor, out var decodedLength)
            || decodedLength != TotalLength
            || !Base64Url.TryDecodeFromChars(cursor, bytes, out var written)
            || written != TotalLength
            || bytes[0] != FormatVersion)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[MacLength];
        Mac(bytes[..PayloadLength], expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, bytes.Slice(PayloadLength, MacLength)))
        {
            return false;
        }

        afterId = BinaryPrimitives.ReadInt32LittleEndian(bytes[1..]);
        return afterId >= 0;
    }

    private static void Mac(ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        Span<byte> hash = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(Key, payload, hash);
        hash[..MacLength].CopyTo(destination);
    }
}
