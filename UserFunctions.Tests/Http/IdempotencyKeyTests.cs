using UserFunctions.Core.Http;

namespace UserFunctions.Tests.Http;

public sealed class IdempotencyKeyTests
{
    [Theory]
    [InlineData("\"8e03978e-40d5-43e8-bc93-6894a57f9324\"", "8e03978e-40d5-43e8-bc93-6894a57f9324")]
    [InlineData("8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324")]
    [InlineData("\"with space\"", "with space")]
    [InlineData("\"a\\\"b\\\\c\"", "a\"b\\c")]
    public void AQuotedStringOrABareTokenIsAKey(string header, string key)
    {
        Assert.True(IdempotencyKeyHeader.TryParse(header, out var parsed));
        Assert.Equal(key, parsed);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("\"\"")]
    [InlineData("\"unterminated")]
    [InlineData("\"a\"b")]
    [InlineData("\"bad\\escape\"")]
    [InlineData("bare space")]
    [InlineData("bare\"quote")]
    [InlineData("\"tab\there\"")]
    [InlineData("\"caf\u00e9\"")]
    public void AnythingElseIsMalformed(string? header) =>
        Assert.False(IdempotencyKeyHeader.TryParse(header, out _));

    [Fact]
    public void KeysHaveAtMost255Characters()
    {
        Assert.True(IdempotencyKeyHeader.TryParse(new string('k', 255), out _));
        Assert.True(IdempotencyKeyHeader.TryParse($"\"{new string('k', 255)}\"", out _));
        Assert.False(IdempotencyKeyHeader.TryParse(new string('k', 256), out _));
        Assert.False(IdempotencyKeyHeader.TryParse($"\"{new string('k', 256)}\"", out _));
    }
}
