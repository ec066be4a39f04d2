using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using UserFunctions.Core.Http;

namespace UserFunctions.Tests.Http;

public sealed class ApiExceptionHandlerTests
{
    [Theory]
    [InlineData(StatusCodes.Status400BadRequest)]
    [InlineData(StatusCodes.Status413PayloadTooLarge)]
    public async Task ARequestTheServerCouldNotReadIsTheClientsErrorNotA500(int status)
    {
        var context = NewContext();

        var handled = await new ApiExceptionHandler(NullLogger<ApiExceptionHandler>.Instance).TryHandleAsync(
            context, new BadHttpRequestException("Unexpected end of request content.", status), CancellationToken.None);

        Assert.True(handled);
        Assert.Equal(status, context.Response.StatusCode);
        var problem = await ReadProblemAsync(context);
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.DoesNotContain("Unexpected end", problem.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NothingIsAnsweredToAClientThatHasGone()
    {
        var context = NewContext();
        using var gone = new CancellationTokenSource();
        context.RequestAborted = gone.Token;
        await gone.CancelAsync();

        var handled = await new ApiExceptionHandler(NullLogger<ApiExceptionHandler>.Instance).TryHandleAsync(context, new IOException("reset"), CancellationToken.None);

        Assert.False(handled);
    }

    private static DefaultHttpContext NewContext() => new()
    {
        RequestServices = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider(),
        Response = { Body = new MemoryStream() },
    };

    private static async Task<JsonElement> ReadProblemAsync(HttpContext context)
    {
        context.Response.Body.Position = 0;
        return (await JsonDocument.ParseAsync(context.Response.Body)).RootElement.Clone();
    }
}
